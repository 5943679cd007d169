"""The initial full extract of one system: reference data and about two years of history.

Patients are generated one at a time with their coverage and all their closed encounters (and
those encounters' charts), and written as they are made, so memory stays flat at any size. A
little history is in it, as in a real first extract: some patients' earlier address or PCP,
earlier (cancelled) coverages, earlier practitioner roles.
Open encounters follow as one contiguous id range, the newest ids, as in a real EHR where the
still-open encounters are the most recent ones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from random import Random

from ingestion.ehr.simulator.clock import clamp_before, extract_cutoff, local_instant
from ingestion.ehr.simulator.context import SystemContext, practitioners_for
from ingestion.ehr.simulator.coverage import earlier_coverage, registration_coverage
from ingestion.ehr.simulator.emit import EarlierPatient, Emitter
from ingestion.ehr.simulator.facilities import hospitals_of
from ingestion.ehr.simulator.open_encounters import open_plan, open_visit
from ingestion.ehr.simulator.patients import PatientProfile, patient_contact, patient_profile
from ingestion.ehr.simulator.reference import write_reference
from ingestion.ehr.simulator.roles import pick_pcp
from ingestion.ehr.simulator.state import Cohort, SystemState
from ingestion.ehr.simulator.visits import (
    CLOSED_STATUS,
    ENCOUNTER_CLASS,
    HISTORY_DAYS,
    OPEN_PER_CLOSED,
    closed_visit,
    minutes,
)
from ingestion.ehr.simulator.writer import EntityBatchWriter

# 1 + floor(Exp(mean 4.05)) closed visits: about 4.6 per patient, 5.6 with open ones; heavy tail.
MEAN_EXTRA_VISITS = 4.05
MAX_VISITS = 40
PATIENT_HISTORY = 0.03  # an earlier version is sent too: another address, or another PCP
EARLIER_PCP_SHARE = 0.4
COVERAGE_HISTORY = 0.12  # an earlier, cancelled coverage is sent too
COVERAGE_RESEND = 0.02  # the current coverage is sent twice (saved twice)
ENCOUNTER_RESEND = 0.037  # of closed encounters: about 3% of all encounters
WEEKEND_REDRAW = 0.6


def write_initial(
    system: str, seed: int, extract_date: date, patients: int, writers: dict[str, EntityBatchWriter]
) -> SystemState:
    ctx = SystemContext(system, practitioners_for(patients, len(hospitals_of(system))), seed)
    state = SystemState(
        extract_date=extract_date,
        practitioners=ctx.practitioners,
        daily_encounters=0.0,
        next_ids=dict.fromkeys(
            ("patient", "encounter", "condition", "procedure", "coverage", "diagnosticreport"), 1
        ),
    )
    write_reference(ctx, seed, extract_date, writers)
    emitter = Emitter(system, state, writers)
    cutoff = extract_cutoff(extract_date)
    patient_ids = state.take_ids("patient", patients)
    coverage_ids = state.take_ids("coverage", patients)  # the current ones; earlier ones follow
    cohort = Cohort(
        extract_date, seed, "initial", patient_ids.start, patient_ids.stop - 1, 1, 0, coverage_ids.start, 0
    )
    state.cohorts.append(cohort)
    closed = sum(_history(ctx, state, emitter, cohort, patient_id, cutoff) for patient_id in patient_ids)

    open_ids = state.take_ids("encounter", round(closed * OPEN_PER_CLOSED))
    cohort = replace(
        cohort,
        first_open=open_ids.start,
        last_open=open_ids.stop - 1,
        last_coverage=state.next_ids["coverage"] - 1,
    )
    state.cohorts[-1] = cohort
    for encounter_id in open_ids:
        visit, profile = open_visit(ctx, state, cohort, open_plan(system, cohort, encounter_id))
        emitter.encounter(visit, profile)
    state.daily_encounters = closed / HISTORY_DAYS
    return state


def _visit_day(rng: Random, first_day: date, span: int) -> date:
    """A day in the window; clinics are mostly closed at weekends, so those are often redrawn."""
    day = first_day + timedelta(days=rng.randrange(span))
    if day.weekday() >= 5 and rng.random() < WEEKEND_REDRAW:
        day = first_day + timedelta(days=rng.randrange(span))
    return day


def _history(
    ctx: SystemContext,
    state: SystemState,
    emitter: Emitter,
    cohort: Cohort,
    patient_id: int,
    cutoff: datetime,
) -> int:
    """Write one patient and their closed encounters; returns how many encounters."""
    profile = patient_profile(ctx, cohort, patient_id)
    rng = Random(f"{cohort.seed}:{ctx.system}:{cohort.extract_date}:history:{patient_id}")
    today = cohort.extract_date
    first_day = max(today - timedelta(days=HISTORY_DAYS - 1), profile.birth_date)
    span = (today - first_day).days + 1
    count = 1 + min(int(rng.expovariate(1 / MEAN_EXTRA_VISITS)), MAX_VISITS - 1)
    days = sorted(_visit_day(rng, first_day, span) for _ in range(count))

    touched = days[0] + timedelta(days=rng.randint(0, (today - days[0]).days))
    last_updated = clamp_before(local_instant(touched, rng.randint(7, 19), rng.randint(0, 59)), cutoff)
    contact = patient_contact(ctx, cohort, patient_id, "0")
    earlier: EarlierPatient | None = None
    if rng.random() < PATIENT_HISTORY:
        changed = last_updated - minutes(rng.randint(60, 90 * 24 * 60))
        gp = profile.general_practitioner
        if gp is not None and rng.random() < EARLIER_PCP_SHARE:
            previous_gp = pick_pcp(ctx, rng, profile.home_hospital, profile.age_on(today), avoid=gp)
            earlier = (replace(profile, general_practitioner=previous_gp), contact, changed)
        else:
            earlier = (profile, patient_contact(ctx, cohort, patient_id, "previous"), changed)
    emitter.patient(profile, contact, last_updated, earlier)
    emitter.allergies(profile, last_updated)
    _coverages(ctx, state, emitter, cohort, profile, rng, cutoff)

    for index, day in enumerate(days):
        encounter_class = ENCOUNTER_CLASS.draw(rng)
        status = CLOSED_STATUS.draw(rng)
        (encounter_id,) = state.take_ids("encounter", 1)
        visit = closed_visit(
            rng, ctx, profile, encounter_id, day, encounter_class, status, index == 0, cutoff
        )
        emitter.encounter(visit, profile, rng, resend_earlier=rng.random() < ENCOUNTER_RESEND)
    return count


def _coverages(
    ctx: SystemContext,
    state: SystemState,
    emitter: Emitter,
    cohort: Cohort,
    profile: PatientProfile,
    rng: Random,
    cutoff: datetime,
) -> None:
    """The patient's current coverage, after an earlier cancelled one for some patients."""
    current = registration_coverage(
        ctx.system, cohort, profile, cohort.registration_coverage_id(profile.patient_id)
    )
    if rng.random() < COVERAGE_HISTORY:
        earlier = earlier_coverage(ctx.system, cohort, profile, state.next_ids["coverage"], current)
        if earlier is not None:
            state.take_ids("coverage", 1)
            cancelled_at = local_instant(current.start, rng.randint(7, 19), rng.randint(0, 59))
            emitter.coverage(earlier, clamp_before(cancelled_at, cutoff))
    span = (cohort.extract_date - current.start).days
    touched = current.start + timedelta(days=rng.randint(0, span))
    last_updated = clamp_before(local_instant(touched, rng.randint(7, 19), rng.randint(0, 59)), cutoff)
    if rng.random() < COVERAGE_RESEND:
        emitter.coverage(current, last_updated - minutes(rng.randint(1, 240)), resend=True)
    emitter.coverage(current, last_updated)
