"""A daily incremental extract of one system: what changed since its previous extract.

It carries new patients, patients who moved (re-sent in full with a later lastUpdated), the
day's new encounters, newly booked or admitted (open) encounters, and the open encounters of
earlier extracts that came due since the previous one, re-sent closed (finished or
cancelled), with the conditions and procedures the finished ones add.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from random import Random

from ingestion.ehr.simulator.clock import clamp_before, extract_cutoff, local_instant
from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.emit import Emitter
from ingestion.ehr.simulator.open_encounters import closing_visit, open_plan, open_visit
from ingestion.ehr.simulator.patients import patient_contact, patient_profile
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
MOVER_RATE = 0.0004  # of existing patients, per day
PATIENT_RESEND = 0.05  # of movers: the change was saved twice
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
    ctx = SystemContext(system, state.practitioners)
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
    cohort = Cohort(
        extract_date,
        seed,
        "incremental",
        new_patients.start,
        new_patients.stop - 1,
        open_ids.start,
        open_ids.stop - 1,
    )
    state.cohorts.append(cohort)

    for patient_id in new_patients:
        profile = patient_profile(ctx, cohort, patient_id)
        emitter.patient(
            profile, patient_contact(ctx, cohort, patient_id, "0"), _during(rng, extract_date, cutoff)
        )
    _movers(ctx, state, emitter, rng, existing, cutoff)

    subjects = [
        *new_patients,
        *(rng.randint(1, existing) for _ in range(len(closed_ids) - len(new_patients))),
    ]
    for encounter_id, patient_id in zip(closed_ids, subjects, strict=True):
        profile = patient_profile(ctx, state.cohort_of_patient(patient_id), patient_id)
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


def _during(rng: Random, day: date, cutoff: datetime) -> datetime:
    """An instant in the working hours of ``day``."""
    return clamp_before(local_instant(day, rng.randint(7, 19), rng.randint(0, 59)), cutoff)


def _movers(
    ctx: SystemContext, state: SystemState, emitter: Emitter, rng: Random, existing: int, cutoff: datetime
) -> None:
    """Patients whose address and phones changed today, re-sent in full."""
    draws = max(1, round(existing * MOVER_RATE * rng.uniform(0.5, 1.5)))
    for patient_id in sorted({rng.randint(1, existing) for _ in range(draws)}):
        home = state.cohort_of_patient(patient_id)
        profile = patient_profile(ctx, home, patient_id)
        contact = patient_contact(ctx, home, patient_id, state.extract_date.isoformat())
        last_updated = _during(rng, state.extract_date, cutoff)
        earlier = (
            (contact, last_updated - minutes(rng.randint(1, 240))) if rng.random() < PATIENT_RESEND else None
        )
        emitter.patient(profile, contact, last_updated, earlier)


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
