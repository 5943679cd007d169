"""The chart-review sample rate in force, stored in the warehouse with every change.

A rate passed to one build only (``dbt build --vars``) would be silently undone by the next
scheduled run, and nobody could tell afterwards which rate a decision was made with. So the
rate lives in ``bronze.carehouse__sample_rate_changes``, one row per change (when, old rate,
new rate, who changed it): the latest row is the rate in force, 10 % while there is none. dbt
reads it as a source (``mart_chart_review`` and ``mart_chart_review_decisions``); the change id
in force is stored with each sampling decision. No PHI: rates, times and a run name.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from warehouse.connection import connect, table_exists
from warehouse.lock import writer_lock
from warehouse.sampling import DEFAULT_SAMPLE_RATE_PCT
from warehouse.settings import Settings

SAMPLE_RATE_SCHEMA = "bronze"
SAMPLE_RATE_TABLE = "carehouse__sample_rate_changes"
_TABLE = sql.Identifier(SAMPLE_RATE_SCHEMA, SAMPLE_RATE_TABLE)


class InvalidSampleRateError(ValueError):
    """A sample rate that is not a whole percentage from 0 to 100."""


def check_sample_rate(pct: object) -> int:
    """``pct`` as an int when it is a whole percentage from 0 to 100; else a one-line error."""
    # bool is an int subclass: True would silently mean 1 %
    if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
        raise InvalidSampleRateError(f"the sample rate must be a whole percentage from 0 to 100, got {pct!r}")
    return pct


def ensure_sample_rate_table(conn: psycopg.Connection) -> None:
    """Create the change log if missing: dbt declares it as a source, so it must exist before
    the first build even when the rate was never changed."""
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            " change_id bigint generated always as identity primary key,"
            " changed_at timestamptz not null default now(),"
            " old_rate_pct integer not null check (old_rate_pct between 0 and 100),"
            " new_rate_pct integer not null check (new_rate_pct between 0 and 100),"
            " changed_by text not null)"
        ).format(_TABLE)
    )


def _latest_rate(conn: psycopg.Connection) -> int:
    row = conn.execute(
        sql.SQL("select new_rate_pct from {} order by change_id desc limit 1").format(_TABLE)
    ).fetchone()
    return DEFAULT_SAMPLE_RATE_PCT if row is None else int(row[0])


def rate_in_force(settings: Settings) -> int:
    """The sample rate in percent every build uses until it is changed (10 when never set)."""
    with connect(settings) as conn:
        if not table_exists(conn, SAMPLE_RATE_SCHEMA, SAMPLE_RATE_TABLE):
            return DEFAULT_SAMPLE_RATE_PCT
        return _latest_rate(conn)


def set_sample_rate(settings: Settings, pct: int, changed_by: str) -> bool:
    """Make ``pct`` the rate in force; True when it changed (a row is recorded only then).

    ``changed_by`` names the writer for the audit trail, e.g. ``"carehouse run"`` or
    ``"dagster run <run id>"``. Held under the writer lock, so no build reads the rate while it
    changes and two changes never interleave.
    """
    pct = check_sample_rate(pct)
    if not changed_by.strip():
        raise ValueError("changed_by must name who or what changes the sample rate")
    with writer_lock(settings, "set sample rate"), connect(settings, autocommit=False) as conn:
        ensure_sample_rate_table(conn)
        old = _latest_rate(conn)
        if old == pct:
            conn.commit()
            return False
        insert = sql.SQL("insert into {} (old_rate_pct, new_rate_pct, changed_by) values (%s, %s, %s)")
        conn.execute(insert.format(_TABLE), (old, pct, changed_by))
        conn.commit()
    return True
