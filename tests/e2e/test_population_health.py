"""Population health end to end: the readmission and chronic-condition marts of gold, recomputed
in Python from silver (ADT stays, common-model conditions, the ICD-10-CM code set) and the
condition-group seed, on the shared scenario's warehouse (tests/e2e/conftest.py).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Scenario, query
from warehouse.keys import gold_key, keyed_hash

pytestmark = pytest.mark.e2e

HOSPITAL_TIME_ZONE = ZoneInfo("America/New_York")  # dbt var hospital_time_zone (default)
CONDITION_GROUPS_SEED = Path(__file__).resolve().parents[2] / "seeds" / "chronic_condition_groups.csv"


class Stay(NamedTuple):
    patient_id: str
    stay_key: str
    hospital: int | None
    department: str | None
    priority: str | None
    admitted_at: datetime
    discharged_at: datetime | None


def _local_day(instant: datetime) -> date:
    return instant.astimezone(HOSPITAL_TIME_ZONE).date()


def _stays(scenario: Scenario) -> list[Stay]:
    rows = query(
        scenario.settings,
        "select patient_id, stay_id, hospital_id, current_department, admission_priority, admitted_at,"
        " discharged_at from silver.int_adt_stays where patient_id is not null",
    )
    # stay_key as dbt's surrogate_key builds it (keyed hash of 'adt'|stay id): the tie-breaker of equal
    # admissions
    key = gold_key(scenario.settings)
    return [Stay(p, keyed_hash(key, f"adt|{s}"), *rest) for p, s, *rest in rows]


def expected_readmissions(stays: list[Stay]) -> dict[tuple[int, str, date], tuple[int, int]]:
    """(hospital, department, discharge month) -> (index stays, 30-day readmissions), the
    fct_readmissions definition: an index stay has a discharge and is not followed by an admission
    on or before its discharge day (a transfer); it is readmitted when the patient's next admission
    is 1-30 days later and not Elective."""
    by_patient: dict[str, list[Stay]] = defaultdict(list)
    for stay in stays:
        by_patient[stay.patient_id].append(stay)
    counts: dict[tuple[int, str, date], list[int]] = defaultdict(lambda: [0, 0])
    for patient_stays in by_patient.values():
        patient_stays.sort(key=lambda s: (s.admitted_at, s.stay_key))
        for stay, following in zip(patient_stays, [*patient_stays[1:], None], strict=True):
            if stay.discharged_at is None or stay.hospital is None or stay.department is None:
                continue
            discharge_day = _local_day(stay.discharged_at)
            days = None if following is None else (_local_day(following.admitted_at) - discharge_day).days
            if days is not None and days <= 0:
                continue  # transfer: the care goes on elsewhere the same day
            readmitted = days is not None and days <= 30 and following.priority != "Elective"
            cell = counts[(stay.hospital, stay.department, discharge_day.replace(day=1))]
            cell[0] += 1
            cell[1] += int(readmitted)
    return {key: (index, readmitted) for key, (index, readmitted) in counts.items()}


def test_readmission_rates_match_the_python_calculation_from_silver(scenario: Scenario) -> None:
    expected = expected_readmissions(_stays(scenario))
    rows = query(
        scenario.settings,
        "select hospital_number, department, discharge_month, index_stays, readmissions, readmission_rate"
        " from gold.mart_readmission_rate_by_month",
    )
    assert {(h, d, m): (i, r) for h, d, m, i, r, _ in rows} == expected
    for *_, index_stays, readmissions, rate in rows:
        assert rate == (Decimal(readmissions) / index_stays).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    # the simulated feed does bring patients back within 30 days
    assert sum(readmitted for _, readmitted in expected.values()) > 0


def test_every_index_stay_of_the_fact_is_in_the_monthly_rate(scenario: Scenario) -> None:
    fact, mart = query(
        scenario.settings,
        "select (select count(*) from gold.fct_readmissions where department_key is not null),"
        " (select sum(index_stays) from gold.mart_readmission_rate_by_month)",
    )[0]
    assert fact == mart > 0


def _condition_groups() -> list[tuple[str, str]]:
    with CONDITION_GROUPS_SEED.open(newline="") as seed:
        return [(row["condition_group"], row["icd10_code_prefix"]) for row in csv.DictReader(seed)]


def expected_chronic_conditions(scenario: Scenario) -> dict[tuple[str, str], tuple[date, date, int]]:
    """(patient key, condition group) -> (first, last diagnosis date, diagnoses): countable
    ICD-10-CM conditions whose code is in the code set and starts with one of the group's prefixes."""
    code_set = {
        code
        for (code,) in query(
            scenario.settings,
            "select icd10_code from silver.stg_reference__icd10_cm_codes"
            " where code_type not in ('chapter', 'block')",
        )
    }
    conditions = query(
        scenario.settings,
        "select patient_key, condition_code, recorded_date from silver.cdm_conditions"
        " where is_countable and is_icd10_coded",
    )
    groups = _condition_groups()
    dates: dict[tuple[str, str], list[date | None]] = defaultdict(list)
    for patient, code, recorded in conditions:
        if code not in code_set:
            continue
        for group in {group for group, prefix in groups if code.startswith(prefix)}:
            dates[(patient, group)].append(recorded)
    expected = {}
    for key, days in dates.items():
        known = [day for day in days if day is not None]  # SQL's min/max skip nulls
        expected[key] = (min(known, default=None), max(known, default=None), len(days))
    return expected


def test_chronic_conditions_match_the_python_calculation_from_silver(scenario: Scenario) -> None:
    expected = expected_chronic_conditions(scenario)
    rows = query(
        scenario.settings,
        "select patient_durable_key, condition_group, first_diagnosis_date, last_diagnosis_date,"
        " num_diagnoses from gold.mart_patient_chronic_conditions",
    )
    assert {(p, g): (first, last, n) for p, g, first, last, n in rows} == expected
    patients_per_group = defaultdict(set)
    for patient, group in expected:
        patients_per_group[group].add(patient)
    assert len(patients_per_group) >= 8, sorted(patients_per_group)
    assert {group for group, _ in _condition_groups()} >= set(patients_per_group)
