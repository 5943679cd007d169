"""When patients arrive: a Poisson process per hospital and hour, with the network's rhythms.

Two streams feed each hospital. Unscheduled arrivals (the ED and direct urgent admissions)
follow the ED's daily curve (quiet before dawn, busy from late morning into the evening), are
half again as many on weekend evenings, and about three times as many in the December-February
flu season, ramping up through November and down through March. Scheduled (elective)
admissions arrive on weekday mornings only and do not surge: hospitals cancel electives in a
surge rather than add them.

Arrivals of one hour are a pure function of (seed, hour), so a simulation that stops mid-hour
regenerates them on resume and skips the ones it already processed.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from random import Random

from ingestion.ehr.simulator.clock import HOSPITAL_TZ

HOUR = 3600
# Network-wide arrivals per day outside the surge, before bed limits (a few are turned away).
UNSCHEDULED_PER_DAY = 350.0
SCHEDULED_PER_WEEKDAY = 120.0
SURGE_FACTOR = 3.0
SURGE_MONTHS = (12, 1, 2)
RAMP_UP_MONTH, RAMP_DOWN_MONTH = 11, 3
WEEKEND_EVENING_FACTOR = 1.5
WEEKEND_EVENING_DAYS = (4, 5, 6)  # Friday, Saturday, Sunday (date.weekday())
WEEKEND_EVENING_HOURS = range(17, 24)
SCHEDULED_HOURS = range(6, 12)  # booked admissions arrive 06:00-11:59 local, Monday-Friday

# The ED arrival curve by local hour (relative; normalised to a mean of 1 below).
_HOURLY = (
    0.55, 0.45, 0.40, 0.35, 0.33, 0.35, 0.45, 0.65, 0.90, 1.15, 1.30, 1.35,
    1.35, 1.35, 1.30, 1.30, 1.30, 1.30, 1.30, 1.25, 1.15, 1.00, 0.85, 0.70,
)  # fmt: skip
HOURLY_PROFILE: tuple[float, ...] = tuple(w * 24 / sum(_HOURLY) for w in _HOURLY)
SCHEDULED_INDEX_BASE = 10_000  # scheduled arrivals are numbered after the unscheduled ones


@dataclass(frozen=True)
class Arrival:
    """One patient at a hospital's door; ``index`` orders arrivals of the same hour and hospital."""

    time: int  # UTC epoch seconds
    hospital: int
    index: int
    scheduled: bool
    hour: int  # UTC epoch seconds of the hour it belongs to

    @property
    def key(self) -> tuple[int, int, int, int]:
        """The simulation's processing order (rank 1: after ward events of the same second)."""
        return (self.time, 1, self.hospital, self.index)


def seasonal_factor(day: date) -> float:
    """Demand multiplier of the flu season: 3 from December to February, 1 from April to October.

    November ramps up and March ramps down day by day, so the surge has no cliff edge.
    """
    if day.month in SURGE_MONTHS:
        return SURGE_FACTOR
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    if day.month == RAMP_UP_MONTH:
        return 1.0 + (SURGE_FACTOR - 1.0) * day.day / (days_in_month + 1)
    if day.month == RAMP_DOWN_MONTH:
        return SURGE_FACTOR - (SURGE_FACTOR - 1.0) * day.day / (days_in_month + 1)
    return 1.0


def is_surge(day: date) -> bool:
    """Flu season proper (used for the diagnosis mix)."""
    return seasonal_factor(day) >= SURGE_FACTOR


def hourly_rates(hour_start: int, hospital_share: float) -> tuple[float, float]:
    """Expected (unscheduled, scheduled) arrivals at a hospital in the hour starting at ``hour_start``."""
    local = datetime.fromtimestamp(hour_start, UTC).astimezone(HOSPITAL_TZ)
    weekday = local.weekday()
    unscheduled = UNSCHEDULED_PER_DAY / 24 * HOURLY_PROFILE[local.hour] * seasonal_factor(local.date())
    if weekday in WEEKEND_EVENING_DAYS and local.hour in WEEKEND_EVENING_HOURS:
        unscheduled *= WEEKEND_EVENING_FACTOR
    scheduled = 0.0
    if weekday < 5 and local.hour in SCHEDULED_HOURS:
        scheduled = SCHEDULED_PER_WEEKDAY / len(SCHEDULED_HOURS)
    return unscheduled * hospital_share, scheduled * hospital_share


def poisson(rng: Random, mean: float) -> int:
    """A Poisson draw by inversion (exact; the hourly means here stay well below 100)."""
    if mean <= 0:
        return 0
    threshold = math.exp(-mean)
    count, product = 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def arrivals_in_hour(seed: int, hour_start: int, shares: dict[int, float]) -> list[Arrival]:
    """Every arrival of the hour at every hospital, in processing order."""
    rng = Random(f"{seed}:adt:arrivals:{hour_start}")
    found: list[Arrival] = []
    for hospital in sorted(shares):
        unscheduled_mean, scheduled_mean = hourly_rates(hour_start, shares[hospital])
        for count, base, scheduled in (
            (poisson(rng, unscheduled_mean), 0, False),
            (poisson(rng, scheduled_mean), SCHEDULED_INDEX_BASE, True),
        ):
            times = sorted(rng.randrange(HOUR) for _ in range(count))
            found.extend(
                Arrival(hour_start + offset, hospital, base + i, scheduled, hour_start)
                for i, offset in enumerate(times)
            )
    found.sort(key=lambda arrival: arrival.key)
    return found
