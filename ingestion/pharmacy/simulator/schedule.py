"""When the payers' pharmacy and eligibility files arrive.

Fill files of month M arrive on a day 5..12 of M+1 (about 5% are delivered again, same bytes,
1..5 days later); the eligibility roster of month M arrives on its first day. Arrival days are
a pure function of (seed, payer, month), and no two files of one payer and entity share a day,
so each batch folder holds one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from ingestion.billing.simulator.payers import CLAIM_PAYERS
from ingestion.claims.simulator.schedule import add_months, month_start

FILLS, MEMBER_MONTHS = "fills", "member_months"
FILL_ARRIVAL_DAY = (5, 12)  # day of the next month
DUPLICATE_RATE = 0.05
DUPLICATE_AFTER = (1, 5)  # ends by day 17: the next month's file comes on day 5 or later


@dataclass(frozen=True)
class Delivery:
    entity: str  # fills | member_months
    payer: str  # payer code, e.g. BCBS
    month: date  # first day of the fill / coverage month
    arrival: date
    duplicate: bool = False  # the same bytes as the month's first delivery...
    content_key: date | None = None  # ...which arrived on this day


def months(first: date, last: date) -> list[date]:
    out, month = [], month_start(first)
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def fill_deliveries(seed: int, payer: str, first: date, last: date) -> list[Delivery]:
    planned: list[Delivery] = []
    for month in months(first, last):
        rng = Random(f"{seed}:pharmacy:schedule:{payer}:{month:%Y-%m}")
        arrival = add_months(month, 1) + timedelta(days=rng.randint(*FILL_ARRIVAL_DAY) - 1)
        planned.append(Delivery(FILLS, payer, month, arrival))
        if rng.random() < DUPLICATE_RATE:
            again = arrival + timedelta(days=rng.randint(*DUPLICATE_AFTER))
            planned.append(Delivery(FILLS, payer, month, again, duplicate=True, content_key=arrival))
    return planned


def planned_deliveries(seed: int, history_start: date, after: date | None, day: date) -> list[Delivery]:
    """Both entities' deliveries of every payer arriving in (after, day] (``None``: on or before ``day``)."""
    first = month_start(history_start)
    planned: list[Delivery] = []
    for payer in CLAIM_PAYERS:
        planned.extend(fill_deliveries(seed, payer, first, add_months(month_start(day), -1)))
        planned.extend(Delivery(MEMBER_MONTHS, payer, m, m) for m in months(first, month_start(day)))
    return [d for d in planned if d.arrival <= day and (after is None or d.arrival > after)]
