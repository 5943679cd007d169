"""When each payer's monthly claim file arrives: usually early next month, sometimes much later,
sometimes corrected (resubmitted) or delivered twice.

A payer-month's schedule is a pure function of (seed, payer, month) plus the days already taken
by that payer's earlier months: no two files of one payer land on the same day, so every
claims batch folder holds exactly one file and its manifest describes that file alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

LATE_RATE = 0.15
RESUBMIT_RATE = 0.10
DUPLICATE_RATE = 0.05
ON_TIME_DAY = (3, 10)  # day of the next month the file normally arrives
LATE_DAYS = (20, 45)  # days after the month's end, for a late file
RESUBMIT_AFTER = (7, 20)
DUPLICATE_AFTER = (1, 5)  # always before a resubmission, which must stay the newest file
# bcbs adds plan_type and renames denial_reason a year into the history: every landing that
# starts with the two-year history has files of both layouts
SCHEMA_CHANGE_AFTER_MONTHS = 12


@dataclass(frozen=True)
class Delivery:
    payer: str  # payer code, e.g. BCBS
    month: date  # first day of the claim month
    arrival: date
    resubmission: bool = False
    duplicate: bool = False
    as_of: date | None = None  # a resubmission resolves the month-end pending lines as of this day
    content_key: date | None = None  # a duplicate repeats the bytes of the file that arrived then

    @property
    def dirt_key(self) -> date:
        return self.content_key or self.arrival


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def schema_change_month(history_start: date) -> date:
    """The month bcbs switches to its new file layout: the history's 13th month."""
    return add_months(month_start(history_start), SCHEMA_CHANGE_AFTER_MONTHS)


def deliveries(seed: int, payer: str, first_month: date, last_month: date) -> list[Delivery]:
    """Every delivery of the payer's files for months first..last, in month order."""
    taken: set[date] = set()
    planned: list[Delivery] = []
    month = first_month
    while month <= last_month:
        planned.extend(_month_deliveries(Random(f"{seed}:claims:{payer}:{month:%Y-%m}"), payer, month, taken))
        month = add_months(month, 1)
    return planned


def _free(day: date, taken: set[date]) -> date:
    while day in taken:
        day += timedelta(days=1)
    taken.add(day)
    return day


def _month_deliveries(rng: Random, payer: str, month: date, taken: set[date]) -> list[Delivery]:
    if rng.random() < LATE_RATE:
        wanted = month_end(month) + timedelta(days=rng.randint(*LATE_DAYS))
    else:
        wanted = add_months(month, 1) + timedelta(days=rng.randint(*ON_TIME_DAY) - 1)
    first = _free(wanted, taken)
    planned = [Delivery(payer, month, first)]
    resubmit = rng.random() < RESUBMIT_RATE
    resubmit_after = rng.randint(*RESUBMIT_AFTER)
    latest = first
    if rng.random() < DUPLICATE_RATE:
        latest = _free(first + timedelta(days=rng.randint(*DUPLICATE_AFTER)), taken)
        planned.append(Delivery(payer, month, latest, duplicate=True, content_key=first))
    if resubmit:
        again = _free(max(first + timedelta(days=resubmit_after), latest + timedelta(days=1)), taken)
        planned.append(Delivery(payer, month, again, resubmission=True, as_of=again))
    return planned
