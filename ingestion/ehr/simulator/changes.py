"""The day's changes to existing patients and practitioners, and how to replay them.

Which patients move, change insurance or change primary care provider (PCP) on an extract
day, and which practitioners change role, is a pure function of that day's cohort. So a later
extract finds anyone's current address, PCP, coverage or role by replaying the change days of
earlier cohorts (a few random draws per day, restricted to the ids it needs) and folding that
person's versions: nothing per patient is ever stored, and the state stays a list of cohorts.
Memory is bounded by the ids one extract touches, not by the number of patients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from random import Random

from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.coverage import CoverageTerms, changed_coverage, registration_coverage
from ingestion.ehr.simulator.patients import PatientProfile, patient_profile
from ingestion.ehr.simulator.roles import RoleTerms, pick_pcp, role_terms
from ingestion.ehr.simulator.state import Cohort, SystemState

# Per existing patient (or practitioner) per extract day; about 15 moves, 10 insurance and 10
# PCP changes and 2 role changes a day over both systems at the default 5,000 patients.
MOVE_RATE = 0.003
INSURANCE_RATE = 0.002
PCP_RATE = 0.002
ROLE_RATE = 0.008
_SPREAD = (0.6, 1.4)
_ROLE_SPREAD = (0.3, 2.0)  # a handful a day: the spread keeps 1-3 rather than always 2


@dataclass(frozen=True)
class DayChanges:
    day: date
    movers: frozenset[int]
    insurance: tuple[int, ...]  # sorted: the n-th gets coverage id first_change_coverage + n
    pcp: frozenset[int]
    roles: tuple[int, ...]  # practitioner ids, sorted
    first_change_coverage: int

    def coverage_id(self, patient_id: int) -> int:
        return self.first_change_coverage + self.insurance.index(patient_id)


def _draw_ids(rng: Random, population: int, rate: float, spread: tuple[float, float] = _SPREAD) -> set[int]:
    """At least one id a day, so that even a small simulation shows every kind of change."""
    if population < 1:
        return set()
    draws = max(1, round(population * rate * rng.uniform(*spread)))
    return {rng.randint(1, population) for _ in range(draws)}


def day_changes(cohort: Cohort, system: str, practitioners: int) -> DayChanges:
    """The changes of an incremental cohort's day (its patients existed before that day)."""
    if cohort.kind != "incremental":
        raise ValueError("only incremental extracts change existing records")
    rng = Random(f"{cohort.seed}:{system}:{cohort.extract_date}:changes")
    existing = cohort.first_patient - 1
    movers = _draw_ids(rng, existing, MOVE_RATE)
    insurance = _draw_ids(rng, existing, INSURANCE_RATE)
    pcp = _draw_ids(rng, existing, PCP_RATE)
    roles = _draw_ids(rng, practitioners, ROLE_RATE, _ROLE_SPREAD)
    new_patients = len(cohort.patient_ids)
    return DayChanges(
        day=cohort.extract_date,
        movers=frozenset(movers),
        insurance=tuple(sorted(insurance)),
        pcp=frozenset(pcp),
        roles=tuple(sorted(roles)),
        first_change_coverage=cohort.first_coverage + new_patients,
    )


@dataclass
class PatientChanges:
    """One patient's change days before some extract, oldest first."""

    moves: list[date] = field(default_factory=list)
    pcp: list[date] = field(default_factory=list)
    coverage: list[tuple[date, int]] = field(default_factory=list)  # (day, new coverage id)


def _change_days(state: SystemState, system: str, before: date) -> Iterable[DayChanges]:
    for cohort in state.cohorts:
        if cohort.kind == "incremental" and cohort.extract_date < before:
            yield day_changes(cohort, system, state.practitioners)


def patient_changes(
    state: SystemState, system: str, before: date, patient_ids: Iterable[int]
) -> dict[int, PatientChanges]:
    """The change days before ``before`` of the given patients (only those with any)."""
    wanted = set(patient_ids)
    found: dict[int, PatientChanges] = {}
    for changes in _change_days(state, system, before):
        for patient_id in wanted & changes.movers:
            found.setdefault(patient_id, PatientChanges()).moves.append(changes.day)
        for patient_id in wanted & changes.pcp:
            found.setdefault(patient_id, PatientChanges()).pcp.append(changes.day)
        for patient_id in wanted.intersection(changes.insurance):
            entry = found.setdefault(patient_id, PatientChanges())
            entry.coverage.append((changes.day, changes.coverage_id(patient_id)))
    return found


def role_changes(
    state: SystemState, system: str, before: date, practitioner_ids: Iterable[int]
) -> dict[int, list[date]]:
    wanted = set(practitioner_ids)
    found: dict[int, list[date]] = {}
    for changes in _change_days(state, system, before):
        for practitioner_id in wanted.intersection(changes.roles):
            found.setdefault(practitioner_id, []).append(changes.day)
    return found


@dataclass(frozen=True)
class PatientNow:
    """A patient's current versions: what the next re-send of Patient or Coverage builds on."""

    home: Cohort
    profile: PatientProfile  # general_practitioner is the current PCP
    contact_version: str
    coverage: CoverageTerms


def new_pcp(ctx: SystemContext, home: Cohort, profile: PatientProfile, day: date) -> int:
    """The PCP a patient switches to on ``day``: another primary care provider of their hospital."""
    rng = Random(f"{home.seed}:{ctx.system}:{home.extract_date}:pcp:{profile.patient_id}:{day}")
    return pick_pcp(ctx, rng, profile.home_hospital, profile.age_on(day), profile.general_practitioner)


def current_pcp(
    ctx: SystemContext, home: Cohort, profile: PatientProfile, days: list[date]
) -> PatientProfile:
    """``profile`` with the PCP chosen on the last of the change ``days``."""
    for day in days:
        profile = replace(profile, general_practitioner=new_pcp(ctx, home, profile, day))
    return profile


def patient_now(
    ctx: SystemContext, state: SystemState, patient_id: int, changes: PatientChanges | None
) -> PatientNow:
    home = state.cohort_of_patient(patient_id)
    profile = patient_profile(ctx, home, patient_id)
    coverage = registration_coverage(ctx.system, home, profile, home.registration_coverage_id(patient_id))
    if changes is None:
        return PatientNow(home, profile, "0", coverage)
    for day, coverage_id in changes.coverage:
        coverage = changed_coverage(ctx.system, home, profile, coverage_id, day, coverage)
    contact_version = changes.moves[-1].isoformat() if changes.moves else "0"
    return PatientNow(home, current_pcp(ctx, home, profile, changes.pcp), contact_version, coverage)


def role_now(ctx: SystemContext, practitioner_id: int, days: list[date]) -> RoleTerms:
    role = role_terms(ctx, practitioner_id, "0", None)
    for day in days:
        role = role_terms(ctx, practitioner_id, day.isoformat(), role)
    return role
