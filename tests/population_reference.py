"""An independent reference calculation of the population-health measures gold must produce.

Written from the measure definitions in the models' YAML, the slow and obvious way (day sets,
loops), never from the SQL: tests compare gold with these numbers.

PDC (PQA, simplified): per patient, drug class and complete calendar year, with at least two
fills on different dates and the first at least 91 days before 31 December; each fill covers
days_supply days from its fill date, or from the day after the supply already on hand runs out
(overlaps shift); covered days after 31 December do not count; adherent at 80%.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

ADHERENCE_CLASSES = ("diabetes", "ras_antagonist", "statin")  # dbt var adherence_drug_classes
ADHERENT_PDC = Decimal("0.80")
MIN_TREATMENT_DAYS = 91


class Fill(NamedTuple):
    patient: str
    therapeutic_class: str
    fill_date: date
    days_supply: int
    fill_key: str = ""  # orders fills of one day, as the model does
    payer: str = ""


@dataclass(frozen=True)
class Adherence:
    index_fill_date: date
    payer: str
    treatment_days: int
    fills: int
    days_covered: int
    pdc: Decimal
    is_adherent: bool


def _month_end(month: date) -> date:
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def medication_adherence(fills: Iterable[Fill]) -> dict[tuple[str, str, int], Adherence]:
    """(patient, class, year) -> the year's PDC, for every measured patient, class and year."""
    fills = list(fills)
    if not fills:
        return {}
    data_through = _month_end(max(fill.fill_date for fill in fills).replace(day=1))
    groups: dict[tuple[str, str, int], list[Fill]] = defaultdict(list)
    for fill in fills:
        if fill.therapeutic_class in ADHERENCE_CLASSES and date(fill.fill_date.year, 12, 31) <= data_through:
            groups[(fill.patient, fill.therapeutic_class, fill.fill_date.year)].append(fill)
    measured: dict[tuple[str, str, int], Adherence] = {}
    for key, group in groups.items():
        group.sort(key=lambda fill: (fill.fill_date, fill.fill_key))
        index, year_end = group[0].fill_date, date(key[2], 12, 31)
        treatment_days = (year_end - index).days + 1
        if len({fill.fill_date for fill in group}) < 2 or treatment_days < MIN_TREATMENT_DAYS:
            continue
        covered: set[date] = set()
        supply_until = index - timedelta(days=1)  # the last day supply on hand covers
        for fill in group:
            start = max(fill.fill_date, supply_until + timedelta(days=1))
            days = [start + timedelta(days=offset) for offset in range(fill.days_supply)]
            supply_until = days[-1]
            covered.update(day for day in days if day <= year_end)
        pdc = Decimal(len(covered)) / Decimal(treatment_days)
        measured[key] = Adherence(
            index_fill_date=index,
            payer=group[0].payer,
            treatment_days=treatment_days,
            fills=len(group),
            days_covered=len(covered),
            pdc=pdc.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
            is_adherent=pdc >= ADHERENT_PDC,
        )
    return measured
