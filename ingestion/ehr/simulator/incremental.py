"""A daily incremental extract of one system: what changed since its previous extract.

It carries new patients (with their coverage); the day's changes (see ``changes``): patients
who moved or changed PCP (re-sent in full with a later lastUpdated), insurance changes (the old
coverage re-sent cancelled, the new one active from today), practitioners whose role changed;
the day's new encounters, newly booked or admitted (open) encounters, and the open encounters
of earlier extracts that came due since the previous one, re-sent closed (finished or
cancelled), with the charts the finished ones add.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from random import Random

from ingestion.ehr.simulator.changes import (
    DayChanges,
    PatientChanges,
    current_pcp,
    day_changes,
    new_pcp,
    patient_changes,
    patient_now,
    role_changes,
    role_now,
)
from ingestion.ehr.simulator.clock import clamp_before, extract_cutoff, local_instant
from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.coverage import changed_coverage, registration_coverage
from ingestion.ehr.simulator.emit import EarlierPatient, Emitter
from ingestion.ehr.simulator.open_encounters import closing_visit, open_plan, open_visit
from ingestion.ehr.simulator.patients import PatientProfile, patient_contact, patient_profile
from ingestion.ehr.simulator.roles import role_terms
from ingestion.ehr.simulator.state import Cohort, SystemState
from ingestion.ehr.simulator.visits import (
    CLOSED_STATUS,
    MAX_LEAD_DAYS,
    SAME_DAY_CLASS,
    closed_visit,
    minutes,
)
from ingestion.ehr.simulator.writer import EntityBatchWriter

NEW_PATIENT_RATE = 0.0006  # of existing patients, per day
PATIENT_RESEND = 0.05  # of changed patients: the change was saved twice
COVERAGE_RESEND = 0.05  # of new coverages: saved twice
ENCOUNTER_RESEND = 0.03
WEEKEND_VOLUME = 0.45
# A day's activity, as shares of the history's daily encounter rate: visits that open and close
# the same day, and new bookings and admissions (open encounters). Booked visits coming due add
# about a quarter of a day's rate, so a day totals about one day of history.
SAME_DAY_SHARE = 0.75
OPENED_SHARE = 0.37


def write_incremental(
    system: str, seed: int, extract_date: date, previous: SystemState, writers: dict[str, EntityBatchWriter]
) -> SystemState:
    state = SystemState(
        extract_date=extract_date,
        practitioners=previous.practitioners,
        daily_encounters=previous.daily_encounters,
        next_ids=dict(previous.next_ids),
        cohorts=list(previous.cohorts),
    )
    ctx = SystemContext(system, state.practitioners, state.cohorts[0].seed)
    cutoff = extract_cutoff(extract_date)
    rng = Random(f"{seed}:{system}:{extract_date}:incremental")
    emitter = Emitter(system, state, writers)

    existing = state.patient_count
    new_patients = state.take_ids(
        "patient", max(1, round(existing * NEW_PATIENT_RATE * rng.uniform(0.5, 1.5)))
    )
    weekend = WEEKEND_VOLUME if extract_date.weekday() >= 5 else 1.0
    volume = state.daily_encounters * rng.uniform(0.85, 1.15) * weekend
    closed_ids = state.take_ids("encounter", max(len(new_patients), round(volume * SAME_DAY_SHARE)))
    open_ids = state.take_ids("encounter", round(volume * OPENED_SHARE))
    cohort, changes = _append_cohort(state, system, seed, new_patients, open_ids)

    for patient_id in new_patients:
        profile = patient_profile(ctx, cohort, patient_id)
        registered = _during(rng, extract_date, cutoff)
        emitter.patient(profile, patient_contact(ctx, cohort, patient_id, "0"), registered)
        emitter.allergies(profile, registered)
        coverage = registration_coverage(system, cohort, profile, cohort.registration_coverage_id(patient_id))
        emitter.coverage(coverage, registered + minutes(rng.randint(1, 30)))
    subjects = [
        *new_patients,
        *(rng.randint(1, existing) for _ in range(len(closed_ids) - len(new_patients))),
    ]
    changed = changes.movers | changes.pcp | set(changes.insurance)
    history = patient_changes(state, system, extract_date, changed | set(subjects[len(new_patients) :]))
    _patient_changes(ctx, state, emitter, rng, changes, history, cutoff)
    _role_changes(ctx, state, emitter, rng, changes, cutoff)
    for encounter_id, patient_id in zip(closed_ids, subjects, strict=True):
        profile = _profile_today(ctx, state, changes, history, patient_id)
        encounter_class = SAME_DAY_CLASS.draw(rng)
        status = CLOSED_STATUS.draw(rng)
        first_visit = patient_id in new_patients
        visit = closed_visit(
            rng, ctx, profile, encounter_id, extract_date, encounter_class, status, first_visit, cutoff
        )
        emitter.encounter(visit, profile, rng, resend_earlier=rng.random() < ENCOUNTER_RESEND)
    for encounter_id in open_ids:
        visit, profile = open_visit(ctx, state, cohort, open_plan(system, cohort, encounter_id))
        emitter.encounter(visit, profile)
    _close_due(ctx, state, emitter, previous.extract_date, extract_date, cutoff)
    return state


def _append_cohort(
    state: SystemState, system: str, seed: int, new_patients: range, open_ids: range
) -> tuple[Cohort, DayChanges]:
    """Record today's cohort; its coverage ids cover new patients, then today's insurance changes."""
    first_coverage = state.next_ids["coverage"]
    cohort = Cohort(
        state.extract_date,
        seed,
        "incremental",
        new_patients.start,
        new_patients.stop - 1,
        open_ids.start,
        open_ids.stop - 1,
        first_coverage,
        first_coverage - 1,
    )
    changes = day_changes(cohort, system, state.practitioners)
    coverage_ids = state.take_ids("coverage", len(new_patients) + len(changes.insurance))
    cohort = replace(cohort, last_coverage=coverage_ids.stop - 1)
    state.cohorts.append(cohort)
    return cohort, changes


def _profile_today(
    ctx: SystemContext,
    state: SystemState,
    changes: DayChanges,
    history: dict[int, PatientChanges],
    patient_id: int,
) -> PatientProfile:
    """The patient's profile with today's PCP, whom today's visits are booked with."""
    home = state.cohort_of_patient(patient_id)
    pcp_days = history[patient_id].pcp if patient_id in history else []
    if patient_id in changes.pcp:
        pcp_days = [*pcp_days, changes.day]
    return current_pcp(ctx, home, patient_profile(ctx, home, patient_id), pcp_days)


def _during(rng: Random, day: date, cutoff: datetime) -> datetime:
    """An instant in the working hours of ``day``."""
    return clamp_before(local_instant(day, rng.randint(7, 19), rng.randint(0, 59)), cutoff)


def _patient_changes(
    ctx: SystemContext,
    state: SystemState,
    emitter: Emitter,
    rng: Random,
    changes: DayChanges,
    history: dict[int, PatientChanges],
    cutoff: datetime,
) -> None:
    """Re-send patients who moved or changed PCP today; swap the coverage of those who changed it."""
    day = changes.day
    for patient_id in sorted(changes.movers | changes.pcp):
        now = patient_now(ctx, state, patient_id, history.get(patient_id))
        version = day.isoformat() if patient_id in changes.movers else now.contact_version
        contact = patient_contact(ctx, now.home, patient_id, version)
        profile = now.profile
        if patient_id in changes.pcp:
            profile = replace(profile, general_practitioner=new_pcp(ctx, now.home, profile, day))
        last_updated = _during(rng, day, cutoff)
        earlier: EarlierPatient | None = None
        if rng.random() < PATIENT_RESEND:
            earlier = (profile, contact, last_updated - minutes(rng.randint(1, 240)))
        emitter.patient(profile, contact, last_updated, earlier)
    for patient_id in changes.insurance:
        now = patient_now(ctx, state, patient_id, history.get(patient_id))
        coverage_id = changes.coverage_id(patient_id)
        successor = changed_coverage(ctx.system, now.home, now.profile, coverage_id, day, now.coverage)
        changed_at = _during(rng, day, cutoff)
        emitter.coverage(replace(now.coverage, status="cancelled", end=day), changed_at)
        if rng.random() < COVERAGE_RESEND:
            emitter.coverage(successor, changed_at, resend=True)
        emitter.coverage(successor, clamp_before(changed_at + minutes(1), cutoff))


def _role_changes(
    ctx: SystemContext,
    state: SystemState,
    emitter: Emitter,
    rng: Random,
    changes: DayChanges,
    cutoff: datetime,
) -> None:
    """Re-send the roles of practitioners who changed department or facility today."""
    history = role_changes(state, ctx.system, changes.day, changes.roles)
    for practitioner_id in changes.roles:
        current = role_now(ctx, practitioner_id, history.get(practitioner_id, []))
        changed = role_terms(ctx, practitioner_id, changes.day.isoformat(), current)
        emitter.role(changed, _during(rng, changes.day, cutoff))


def _close_due(
    ctx: SystemContext, state: SystemState, emitter: Emitter, after: date, through: date, cutoff: datetime
) -> None:
    """Re-send, closed, every open encounter of an earlier extract due in (after, through]."""
    for cohort in state.cohorts:
        if cohort.extract_date >= through or cohort.extract_date + timedelta(days=MAX_LEAD_DAYS) <= after:
            continue
        for encounter_id in cohort.open_ids:
            plan = open_plan(ctx.system, cohort, encounter_id)
            if plan.due is None or not after < plan.due <= through:
                continue
            opened, profile = open_visit(ctx, state, cohort, plan)
            closed, rng = closing_visit(ctx.system, cohort, plan, opened, cutoff)
            emitter.encounter(closed, profile, rng)
