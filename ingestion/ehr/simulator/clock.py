"""Simulated time: clinic hours in the hospitals' zone, extract cut-offs and vendor timestamp styles.

All hospitals are on US Eastern time, so visits start at local clinic hours. Internally every
instant is an aware UTC datetime (arithmetic across DST changes stays exact). On the wire the
vendors differ, as real ones do: athena sends UTC (``+00:00``), epic sends local wall time with
its offset (``-05:00``/``-04:00``). Both are ISO 8601 with an offset; ``meta.lastUpdated`` is
always UTC (a server stamp).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

HOSPITAL_TZ = ZoneInfo("America/New_York")
ONE_SECOND = timedelta(seconds=1)


def local_instant(day: date, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a local wall-clock time at the hospitals."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=HOSPITAL_TZ).astimezone(UTC)


def local_date(instant: datetime) -> date:
    return instant.astimezone(HOSPITAL_TZ).date()


def extract_cutoff(extract_date: date) -> datetime:
    """Nothing in the extract of ``extract_date`` happens at or after local midnight that ends it."""
    return local_instant(extract_date + timedelta(days=1), 0)


def clamp_before(instant: datetime, cutoff: datetime) -> datetime:
    return min(instant, cutoff - ONE_SECOND)


def wire_time(system: str, instant: datetime) -> str:
    """A clinical timestamp the way ``system`` sends it."""
    if system == "epic":
        return instant.astimezone(HOSPITAL_TZ).isoformat()
    return instant.isoformat()


def server_stamp(instant: datetime) -> str:
    """``meta.lastUpdated``: always UTC."""
    return instant.isoformat()
