"""Population health on the payers' pharmacy and eligibility files, end to end: medication
adherence (PDC), PMPM cost, prescribing patterns and risk tiers of gold, recomputed in Python
from silver (tests/population_reference.py for PDC) on the shared scenario's warehouse.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import Scenario, query
from tests.e2e.test_population_health import expected_chronic_conditions
from tests.population_reference import Fill, medication_adherence

pytestmark = pytest.mark.e2e

CENTS = Decimal("0.01")
ACUTE_CLASSES = ("IMP", "EMER")


def _months_back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _month_end(month: date) -> date:
    return _months_back(month, -1) - timedelta(days=1)


def _fills(scenario: Scenario) -> list[Fill]:
    rows = query(
        scenario.settings,
        "select patient_key, therapeutic_class, fill_date, days_supply, pharmacy_fill_key, payer_key"
        " from silver.int_pharmacy_fills_current where patient_key is not null",
    )
    return [Fill(*row) for row in rows]


def test_medication_adherence_matches_the_python_calculation_from_silver(scenario: Scenario) -> None:
    fills = _fills(scenario)
    expected = medication_adherence(fills)
    rows = query(
        scenario.settings,
        "select patient_durable_key, therapeutic_class, measurement_year, index_fill_date, payer_key,"
        " treatment_days, fills, days_covered, pdc, is_adherent from gold.mart_medication_adherence",
    )
    actual = {(p, c, y): rest for p, c, y, *rest in rows}
    assert actual.keys() == expected.keys()
    for key, measure in expected.items():
        assert actual[key] == [
            measure.index_fill_date,
            measure.payer,
            measure.treatment_days,
            measure.fills,
            measure.days_covered,
            measure.pdc,
            measure.is_adherent,
        ], key
    # the simulated patients refill early (overlaps that must shift), and most, not all, adhere
    adherent = sum(measure.is_adherent for measure in expected.values()) / len(expected)
    assert 0.4 < adherent < 0.95, adherent
    assert {c for _, c, _ in expected} == {"diabetes", "ras_antagonist", "statin"}
    by_patient_class = defaultdict(list)
    for fill in fills:
        by_patient_class[(fill.patient, fill.therapeutic_class)].append(fill)
    early = sum(
        later.fill_date < earlier.fill_date + timedelta(days=earlier.days_supply)
        for group in by_patient_class.values()
        for earlier, later in zip(sorted(group)[:-1], sorted(group)[1:], strict=True)
    )
    assert early > 0


def _latest_medical_paid(scenario: Scenario) -> list[tuple[str, str | None, date, Decimal, str]]:
    """(payer key, patient key, service date, paid, status) of each claim line's latest state."""
    rows = query(
        scenario.settings,
        "select l.claim_line_key, l.claim_month, l.payer_key, c.patient_key, l.service_date,"
        " l.paid_amount, l.claim_status from silver.int_claim_lines_current l"
        " left join silver.cdm_transactions c"
        " on c.charge_key = l.charge_key and c.transaction_type = 'CHARGE'",
    )
    latest: dict[str, tuple] = {}
    for line, month, *rest in rows:
        if line not in latest or month > latest[line][0]:
            latest[line] = (month, *rest)
    return [
        (payer, patient, served, paid or Decimal(0), status)
        for _, payer, patient, served, paid, status in latest.values()
    ]


def test_pmpm_cost_matches_the_python_calculation_from_silver(scenario: Scenario) -> None:
    members = Counter(
        (payer, month)
        for payer, month in query(
            scenario.settings, "select payer_key, eligibility_month from silver.int_member_months"
        )
    )
    medical: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    pending: Counter[tuple[str, date]] = Counter()
    for payer, _, served, paid, status in _latest_medical_paid(scenario):
        medical[(payer, served.replace(day=1))] += paid
        pending[(payer, served.replace(day=1))] += status == "pending"
    pharmacy: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for payer, month, paid in query(
        scenario.settings, "select payer_key, fill_month, paid_amount from silver.int_pharmacy_fills_current"
    ):
        pharmacy[(payer, month)] += paid
    latest_fill_month = max(month for _, month in pharmacy)
    expected = {
        key: (
            count,
            medical[key],
            pharmacy[key],
            ((medical[key] + pharmacy[key]) / count).quantize(CENTS, ROUND_HALF_UP),
            pending[key],
            pending[key] > 0 or key[1] > latest_fill_month,
        )
        for key, count in members.items()
    }
    rows = query(
        scenario.settings,
        "select payer_key, month_start_date, member_months, medical_paid, pharmacy_paid, total_pmpm,"
        " medical_lines_pending, is_provisional from gold.mart_pmpm_cost_by_payer_month",
    )
    assert {(p, m): tuple(rest) for p, m, *rest in rows} == expected
    assert len({payer for payer, _ in expected}) == 5  # the configured payers (cigna is not)
    settled = [value for value in expected.values() if not value[-1]]
    assert len(settled) >= 5 * 12 and all(value[3] > 0 for value in settled)


def test_prescribing_patterns_match_the_python_calculation_from_silver(scenario: Scenario) -> None:
    cells: dict[tuple[str, str, date], list] = defaultdict(lambda: [0, set(), 0, Decimal(0)])
    for npi, cls, month, patient, days, paid in query(
        scenario.settings,
        "select prescriber_npi, therapeutic_class, fill_month, patient_key, days_supply, paid_amount"
        " from silver.int_pharmacy_fills_current",
    ):
        cell = cells[(npi, cls, month)]
        cell[0] += 1
        cell[1].add(patient)
        cell[2] += days
        cell[3] += paid
    per_prescriber = Counter()
    for (npi, _, month), cell in cells.items():
        per_prescriber[(npi, month)] += cell[0]
    expected = {
        key: (
            fills,
            len(patients),
            days,
            paid,
            (Decimal(fills) / per_prescriber[(key[0], key[2])]).quantize(Decimal("0.0001"), ROUND_HALF_UP),
        )
        for key, (fills, patients, days, paid) in cells.items()
    }
    rows = query(
        scenario.settings,
        "select prescriber_npi, therapeutic_class, fill_month, fills, patients, days_supplied, paid_amount,"
        " share_of_prescriber_fills from gold.mart_prescribing_patterns",
    )
    assert {(n, c, m): tuple(rest) for n, c, m, *rest in rows} == expected
    known = query(
        scenario.settings,
        "select count(*) filter (where provider_durable_key is not null)::numeric / count(*)"
        " from gold.mart_prescribing_patterns",
    )[0][0]
    assert known > Decimal("0.9")  # prescribers are the EHR's practitioners, found by NPI


def _risk_points(conditions: int, acute: int, paid: Decimal) -> tuple[int, int, int]:
    return (
        2 if conditions >= 4 else 1 if conditions >= 2 else 0,
        2 if acute >= 2 else acute,
        2 if paid >= 5000 else 1 if paid >= 1000 else 0,
    )


def test_risk_tiers_match_the_python_calculation_from_silver(scenario: Scenario) -> None:
    patient_months = set(
        query(
            scenario.settings,
            "select patient_key, eligibility_month from silver.int_member_months"
            " where patient_key is not null",
        )
    )
    first_diagnoses: dict[str, list[date]] = defaultdict(list)
    for (patient, _), (first, _, _) in expected_chronic_conditions(scenario).items():
        if first is not None:
            first_diagnoses[patient].append(first)
    activity: dict[tuple[str, date], list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for patient, started in query(
        scenario.settings,
        "select patient_key, period_start_date from silver.cdm_encounters"
        " where is_completed and encounter_class_code in ('IMP', 'EMER')",
    ):
        activity[(patient, started.replace(day=1))][0] += 1
    for _, patient, served, paid, _ in _latest_medical_paid(scenario):
        if patient is not None:
            activity[(patient, served.replace(day=1))][1] += paid
    for patient, month, paid in query(
        scenario.settings,
        "select patient_key, fill_month, paid_amount from silver.int_pharmacy_fills_current",
    ):
        activity[(patient, month)][2] += paid
    expected = {}
    for patient, month in patient_months:
        window = [activity.get((patient, _months_back(month, back))) for back in range(12)]
        acute = sum(cell[0] for cell in window if cell)
        medical = sum((cell[1] for cell in window if cell), Decimal(0))
        pharmacy = sum((cell[2] for cell in window if cell), Decimal(0))
        conditions = sum(first <= _month_end(month) for first in first_diagnoses.get(patient, []))
        points = _risk_points(conditions, acute, medical + pharmacy)
        score = sum(points)
        tier = "high" if score >= 4 else "rising" if score >= 2 else "low"
        expected[(patient, month)] = (conditions, acute, medical, pharmacy, *points, score, tier)
    rows = query(
        scenario.settings,
        "select patient_durable_key, month_start_date, chronic_conditions, acute_encounters_12m,"
        " medical_paid_12m, pharmacy_paid_12m, condition_points, utilisation_points, cost_points,"
        " risk_score, risk_tier"
        " from gold.mart_risk_tiers",
    )
    assert {(p, m): tuple(rest) for p, m, *rest in rows} == expected
    tiers = Counter(value[-1] for value in expected.values())
    assert set(tiers) == {"low", "rising", "high"}, tiers


def _manifest_dirt(landing: Path, prefix: str) -> Counter[str]:
    dirt: Counter[str] = Counter()
    for manifest in landing.glob(f"*/*/{prefix}_*/*/*/manifest.json"):
        if manifest.parts[-4] == f"{prefix}_cigna":
            continue  # not in the default load configuration
        dirt.update(json.loads(manifest.read_text()).get("dirty", {}))
    return dirt


def test_pharmacy_and_eligibility_rows_reconcile_and_quarantine_equals_injected_dirt(
    scenario: Scenario,
) -> None:
    for bronze, staged, quarantine, prefix in (
        ("pharmacy__fills", "stg_pharmacy__fills", "quarantine_pharmacy__fills", "pharmacy"),
        (
            "eligibility__member_months",
            "stg_eligibility__member_months",
            "quarantine_eligibility__member_months",
            "eligibility",
        ),
    ):
        raw, stg, usable, quarantined = query(
            scenario.settings,
            f"select (select count(*) from bronze.{bronze}), (select count(*) from silver.{staged}),"
            f" (select count(*) from silver.{staged} where quarantine_reason is null),"
            f" (select count(*) from silver.{quarantine})",
        )[0]
        assert raw == stg == usable + quarantined > 0, bronze
        by_reason = dict(
            query(
                scenario.settings, f"select quarantine_reason, count(*) from silver.{quarantine} group by 1"
            )
        )
        assert by_reason == dict(_manifest_dirt(scenario.settings.landing_dir, prefix)), bronze
