"""The rows of one payer's file: fills of a month (paid, and reversals right after them) or its roster.

Identifiers are stable: an rx_claim_id is a bijective scramble of the fill's network-wide number
(so unique per payer), a member id one of (system, patient) with a per-payer offset.
"""

from __future__ import annotations

import functools
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from ingestion.billing.simulator.chargemaster import unit_hash
from ingestion.billing.simulator.ehr_view import CoverageFacts
from ingestion.billing.simulator.extracts import account_number, format_cents
from ingestion.billing.simulator.payers import SELF_PAY
from ingestion.claims.simulator.files import PLAN_TYPES
from ingestion.claims.simulator.schedule import add_months, month_start
from ingestion.ehr.simulator.identifiers import practitioner_npi
from ingestion.pharmacy.simulator import dirt
from ingestion.pharmacy.simulator.fills import PATIENT_SPACE, SYSTEM_INDEX, Fill

FILL_COLUMNS = (
    "rx_claim_id",
    "claim_status",
    "member_id",
    "patient_account",
    "prescriber_npi",
    "ndc",
    "drug_name",
    "therapeutic_class",
    "fill_date",
    "days_supply",
    "quantity",
    "paid_amount",
    "patient_paid_amount",
)
MEMBER_COLUMNS = ("member_id", "patient_account", "eligibility_month", "product", "plan_type")
REVERSAL_RATE = 0.03
DISPENSING_FEE_CENTS = 200
# (generic, brand) patient share: a copay in cents, or a coinsurance rate
COPAY = {"commercial": (1000, 4000), "medicare": (500, 0.25), "medicaid": (100, 300)}

Row = dict[str, str]
Coverages = Mapping[int, Mapping[int, CoverageFacts]]


def product_of(payer: str) -> str:
    return {"MEDICARE": "medicare", "MEDICAID": "medicaid"}.get(payer, "commercial")


@functools.lru_cache(maxsize=65536)
def plan_type(seed: int, system: str, patient: int) -> str:
    """The member's commercial plan: the same draw as the bcbs claim files' plan_type."""
    point = unit_hash(seed, system, "plan", patient)
    for plan, share in PLAN_TYPES:
        point -= share
        if point < 0:
            return plan
    return PLAN_TYPES[-1][0]


@functools.lru_cache(maxsize=65536)
def member_id(payer: str, system: str, patient: int) -> str:
    base = SYSTEM_INDEX[system] * PATIENT_SPACE + patient
    return f"{payer[:3]}{(base * 104_729_731 + zlib.crc32(payer.encode())) % 10**9:09d}"


def rx_claim_id(number: int) -> str:
    return f"RX{(number * 7_919_370_473 + 1_234_567_891) % 10**10:010d}"


def payer_on(coverages: Mapping[int, CoverageFacts], day: date) -> str:
    """The payer of the coverage active on ``day`` (latest start wins), else self-pay: billing's rule."""
    best: tuple[date, int] | None = None
    payer = SELF_PAY
    for coverage_id, coverage in coverages.items():
        if coverage.start <= day and (coverage.end is None or day < coverage.end):
            key = (coverage.start, coverage_id)
            if best is None or key > best:
                best, payer = key, coverage.payer
    return payer


def fills_by_payer_month(
    fills: Iterable[Fill], coverages: Mapping[str, Coverages]
) -> dict[tuple[str, date], list[Fill]]:
    """Claimed fills by (payer, fill month); a self-pay fill is no claim."""
    index: dict[tuple[str, date], list[Fill]] = defaultdict(list)
    for fill in fills:
        payer = payer_on(coverages[fill.system].get(fill.patient, {}), fill.fill_date)
        if payer != SELF_PAY:
            index[(payer, month_start(fill.fill_date))].append(fill)
    return index


def _quantity(fill: Fill) -> str:
    units = round(fill.drug.units_per_day * fill.days_supply, 3)
    return str(int(units)) if units == int(units) else f"{units:.3f}"


def _amounts(fill: Fill, payer: str) -> tuple[int, int]:
    """(plan paid, patient paid) in cents; the patient never pays more than half."""
    total = round(fill.drug.units_per_day * fill.days_supply * fill.drug.unit_cents) + DISPENSING_FEE_CENTS
    share = COPAY[product_of(payer)][fill.drug.brand]
    patient = round(total * share) if isinstance(share, float) else share
    patient = min(patient, total // 2)
    return total - patient, patient


def fill_rows(seed: int, payer: str, month: date, fills: list[Fill]) -> tuple[list[Row], Counter[str]]:
    rows: list[Row] = []
    dirty: Counter[str] = Counter()
    stream = dirt.DirtStream(seed, "fills", payer, month)
    for fill in sorted(fills, key=lambda f: (f.fill_date, f.system, f.patient, f.rx_number)):
        paid, patient_paid = _amounts(fill, payer)
        row = {
            "rx_claim_id": rx_claim_id(fill.rx_number),
            "claim_status": "paid",
            "member_id": member_id(payer, fill.system, fill.patient),
            "patient_account": account_number(fill.system, fill.patient),
            "prescriber_npi": practitioner_npi(fill.system, fill.prescriber),
            "ndc": fill.drug.ndc,
            "drug_name": fill.drug.name,
            "therapeutic_class": fill.drug.therapeutic_class,
            "fill_date": fill.fill_date.isoformat(),
            "days_supply": str(fill.days_supply),
            "quantity": _quantity(fill),
            "paid_amount": format_cents(paid),
            "patient_paid_amount": format_cents(patient_paid),
        }
        reason, salt = stream.defect(dirt.FILL_RATES)
        if reason is None:
            rows.append(row)
        elif reason == dirt.DUPLICATE_ROW:
            rows.extend((row, dict(row)))
        else:
            rows.append(dirt.break_fill(row, reason, salt))
        if reason is not None:
            dirty[reason] += 1
        if stream.chance(REVERSAL_RATE):
            rows.append({**row, "claim_status": "reversed"})  # the clean values, right after the paid row
    return rows, dirty


def members_by_payer_month(
    coverages: Mapping[str, Coverages], first: date, last: date
) -> dict[tuple[str, date], set[tuple[str, int]]]:
    """(payer, month) -> (system, patient) with a coverage of that payer active on a day of the month."""
    index: dict[tuple[str, date], set[tuple[str, int]]] = defaultdict(set)
    for system, by_patient in coverages.items():
        for patient, versions in by_patient.items():
            for coverage in versions.values():
                if coverage.payer == SELF_PAY or (
                    coverage.end is not None and coverage.end <= coverage.start
                ):
                    continue  # an empty period is active on no day
                month = max(month_start(coverage.start), first)
                # the end is exclusive: coverage ending on the 1st is not active in that month
                stop = (
                    last if coverage.end is None else min(last, month_start(coverage.end - timedelta(days=1)))
                )
                while month <= stop:
                    index[(coverage.payer, month)].add((system, patient))
                    month = add_months(month, 1)
    return index


def member_rows(
    seed: int, payer: str, month: date, members: Iterable[tuple[str, int]]
) -> tuple[list[Row], Counter[str]]:
    rows: list[Row] = []
    dirty: Counter[str] = Counter()
    product = product_of(payer)
    stream = dirt.DirtStream(seed, "member_months", payer, month)
    for system, patient in sorted(members, key=lambda m: account_number(*m)):
        row = {
            "member_id": member_id(payer, system, patient),
            "patient_account": account_number(system, patient),
            "eligibility_month": month.isoformat(),
            "product": product,
            "plan_type": plan_type(seed, system, patient) if product == "commercial" else "",
        }
        reason, salt = stream.defect(dirt.ELIGIBILITY_RATES)
        if reason == dirt.DUPLICATE_ROW:
            rows.extend((row, dict(row)))
        else:
            rows.append(row if reason is None else dirt.break_member_month(row, salt))
        if reason is not None:
            dirty[reason] += 1
    return rows, dirty
