"""Insurance coverage: which payer covers a patient, from when, and how that changes.

Every patient has exactly one active coverage at any time. A coverage version is a pure
function of (the patient's creating cohort, patient id, version key, previous version): "0" is
the coverage a patient is registered with, "previous" an earlier one the initial extract sends
as history, and a later change is keyed by its day. Ids come from the system's coverage counter
in a fixed order per batch (see ``changes``), so a later extract can name the coverage it
cancels without having stored it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from ingestion.ehr.simulator.codes import WeightedChoice
from ingestion.ehr.simulator.patients import PatientProfile
from ingestion.ehr.simulator.state import Cohort

INSURANCE_TYPE_SYSTEM = "urn:carehouse:insurance-type"
TYPE_DISPLAY = {
    "commercial": "Commercial",
    "medicare": "Medicare",
    "medicaid": "Medicaid",
    "self-pay": "Self-pay",
}
_COMMERCIAL = WeightedChoice(
    ("Blue Cross Blue Shield", "UnitedHealthcare", "Aetna", "Cigna"), (40, 25, 22, 13)
)
_SINGLE_PAYER = {"medicare": "Medicare", "medicaid": "Medicaid", "self-pay": "Self-pay"}
# Insurance type by age: children are often on Medicaid (CHIP), 65+ almost all on Medicare.
_TYPE_BY_AGE = (
    (18, WeightedChoice(("commercial", "medicaid", "self-pay"), (55, 42, 3))),
    (65, WeightedChoice(("commercial", "medicaid", "medicare", "self-pay"), (72, 17, 3, 8))),
    (200, WeightedChoice(("medicare", "commercial", "medicaid", "self-pay"), (86, 8, 4, 2))),
)
# Registration: how long before the patient's first extract the coverage began.
_INITIAL_TENURE_DAYS = (30, 3000)
_NEW_PATIENT_TENURE_DAYS = (0, 900)
_EARLIER_TENURE_DAYS = (120, 2000)


@dataclass(frozen=True)
class CoverageTerms:
    coverage_id: int
    patient_id: int
    insurance_type: str
    payer: str
    start: date
    end: date | None = None
    status: str = "active"


def _key(cohort: Cohort, system: str, patient_id: int, version: str) -> str:
    return f"{cohort.seed}:{system}:{cohort.extract_date}:coverage:{patient_id}:{version}"


def _draw(rng: Random, age: int) -> tuple[str, str]:
    insurance_type = next(choice for upper, choice in _TYPE_BY_AGE if age < upper).draw(rng)
    payer = _COMMERCIAL.draw(rng) if insurance_type == "commercial" else _SINGLE_PAYER[insurance_type]
    return insurance_type, payer


def _draw_other(rng: Random, age: int, avoid: str) -> tuple[str, str]:
    """A plan with a payer other than ``avoid``: a change of insurance changes the payer."""
    for _ in range(6):
        insurance_type, payer = _draw(rng, age)
        if payer != avoid:
            return insurance_type, payer
    while (payer := _COMMERCIAL.draw(rng)) == avoid:
        pass
    return "commercial", payer


def registration_coverage(
    system: str, cohort: Cohort, profile: PatientProfile, coverage_id: int
) -> CoverageTerms:
    """The coverage a patient has when their cohort's extract first sends them."""
    rng = Random(_key(cohort, system, profile.patient_id, "0"))
    tenure = _INITIAL_TENURE_DAYS if cohort.kind == "initial" else _NEW_PATIENT_TENURE_DAYS
    start = max(profile.birth_date, cohort.extract_date - timedelta(days=rng.randint(*tenure)))
    insurance_type, payer = _draw(rng, profile.age_on(cohort.extract_date))
    return CoverageTerms(coverage_id, profile.patient_id, insurance_type, payer, start)


def earlier_coverage(
    system: str, cohort: Cohort, profile: PatientProfile, coverage_id: int, current: CoverageTerms
) -> CoverageTerms | None:
    """A coverage that ended when ``current`` began; ``None`` if the patient was not born yet."""
    rng = Random(_key(cohort, system, profile.patient_id, "previous"))
    start = max(profile.birth_date, current.start - timedelta(days=rng.randint(*_EARLIER_TENURE_DAYS)))
    if start >= current.start:
        return None
    insurance_type, payer = _draw_other(rng, profile.age_on(start), current.payer)
    return CoverageTerms(
        coverage_id, profile.patient_id, insurance_type, payer, start, current.start, "cancelled"
    )


def changed_coverage(
    system: str, home: Cohort, profile: PatientProfile, coverage_id: int, day: date, previous: CoverageTerms
) -> CoverageTerms:
    """The coverage that replaces ``previous`` from ``day`` on."""
    rng = Random(_key(home, system, profile.patient_id, day.isoformat()))
    insurance_type, payer = _draw_other(rng, profile.age_on(day), previous.payer)
    return CoverageTerms(coverage_id, profile.patient_id, insurance_type, payer, day)
