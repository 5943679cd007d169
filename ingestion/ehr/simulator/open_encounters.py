"""Open encounters (planned, in-progress): regenerated from (cohort, id), closed when due.

Open encounters get contiguous ids per batch and are a pure function of (cohort, id). Each
carries a due date on which a later extract closes it (finished, or cancelled as a no-show).
The later extract finds them by regenerating the plans of recent cohorts, so no list of open
ids is ever stored and memory stays flat at any scale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from random import Random

from ingestion.ehr.simulator.clock import clamp_before, extract_cutoff, local_date, local_instant
from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.fhir import Visit
from ingestion.ehr.simulator.patients import PatientProfile, patient_profile
from ingestion.ehr.simulator.state import Cohort, SystemState
from ingestion.ehr.simulator.visits import (
    ADMISSION_CLASS,
    BOOKING_LEAD_DAYS,
    HISTORY_DAYS,
    NEVER_CLOSED,
    NO_SHOW,
    PLANNED_OF_OPEN,
    RECENT_IN_PROGRESS,
    STALE_CLASS,
    end_after,
    minutes,
    place,
    start_on,
    visit_code,
)

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class OpenPlan:
    """The cheap part of an open encounter: enough to know whether (and when) it closes."""

    encounter_id: int
    status: str
    encounter_class: str
    subject: int
    start: datetime
    due: date | None  # the day a later extract closes it; None: the EHR never does


def _plan_key(system: str, cohort: Cohort, encounter_id: int) -> str:
    return f"{cohort.seed}:{system}:{cohort.extract_date}:open:{encounter_id}"


def open_plan(system: str, cohort: Cohort, encounter_id: int) -> OpenPlan:
    rng = Random(_plan_key(system, cohort, encounter_id))
    subject = rng.randint(1, cohort.last_patient)
    opened = cohort.extract_date
    initial = cohort.kind == "initial"
    if rng.random() < PLANNED_OF_OPEN[cohort.kind]:
        day = opened + timedelta(days=rng.randint(1, BOOKING_LEAD_DAYS))
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        booked_due = None if rng.random() < NEVER_CLOSED else day
        return OpenPlan(encounter_id, "planned", "AMB", subject, start_on(rng, day, "AMB"), booked_due)
    if initial and rng.random() >= RECENT_IN_PROGRESS:
        klass = STALE_CLASS.draw(rng)
        day = opened - timedelta(days=rng.randint(30, HISTORY_DAYS - 1))
        return OpenPlan(encounter_id, "in-progress", klass, subject, start_on(rng, day, klass), None)
    klass = ADMISSION_CLASS.draw(rng)
    if klass == "EMER":
        start = local_instant(opened, rng.randint(18, 23), rng.randint(0, 59))
        due: date | None = opened + _DAY
    else:
        day = opened - timedelta(days=rng.randint(0, 4)) if initial else opened
        start = start_on(rng, day, "IMP")
        due = max(day + timedelta(days=rng.randint(1, 7)), opened + _DAY)
    if not initial and rng.random() < NEVER_CLOSED:
        due = None
    return OpenPlan(encounter_id, "in-progress", klass, subject, start, due)


def open_visit(
    ctx: SystemContext, state: SystemState, cohort: Cohort, plan: OpenPlan
) -> tuple[Visit, PatientProfile]:
    """The version of an open encounter sent by the extract that opened it."""
    rng = Random(_plan_key(ctx.system, cohort, plan.encounter_id) + ":detail")
    profile = patient_profile(ctx, state.cohort_of_patient(plan.subject), plan.subject)
    start = plan.start
    born = profile.birth_date
    if plan.due is None and local_date(start) < born:  # a stale encounter must not predate birth
        start += timedelta(days=(born - local_date(start)).days + 1)
    code = visit_code(rng, plan.encounter_class, profile.age_on(local_date(start)), first_visit=False)
    hospital, location, practitioner = place(rng, ctx, profile, plan.encounter_class)
    cutoff = extract_cutoff(cohort.extract_date)
    if plan.status == "planned":
        lead = rng.randint(6 * 60, 16 * 60) if cohort.kind != "initial" else rng.randint(6 * 60, 60 * 24 * 60)
        last_updated = cutoff - minutes(lead)
    else:
        last_updated = start + minutes(rng.randint(1, 30))
    visit = Visit(
        encounter_id=plan.encounter_id,
        status=plan.status,
        encounter_class=plan.encounter_class,
        visit_code=code,
        patient_id=plan.subject,
        practitioner_id=practitioner,
        hospital=hospital,
        location=location,
        start=start,
        end=None,
        last_updated=clamp_before(last_updated, cutoff),
    )
    return visit, profile


def closing_visit(
    system: str, cohort: Cohort, plan: OpenPlan, opened: Visit, cutoff: datetime
) -> tuple[Visit, Random]:
    """The version that closes an open encounter on its due day, and the RNG to chart it with."""
    if plan.due is None:
        raise ValueError(f"encounter {plan.encounter_id} never closes")
    rng = Random(_plan_key(system, cohort, plan.encounter_id) + ":close")
    if plan.status == "planned":
        if rng.random() < NO_SHOW:
            closed = replace(
                opened, status="cancelled", last_updated=opened.start + minutes(rng.randint(15, 180))
            )
        else:
            end = end_after(rng, "AMB", opened.start)
            closed = replace(
                opened, status="finished", end=end, last_updated=end + minutes(rng.randint(5, 240))
            )
    else:
        hours = (0, 8) if plan.encounter_class == "EMER" else (10, 17)
        end = local_instant(plan.due, rng.randint(*hours), rng.randint(0, 59))
        end = max(end, opened.start + minutes(90))
        closed = replace(opened, status="finished", end=end, last_updated=end + minutes(rng.randint(5, 240)))
    return replace(closed, last_updated=clamp_before(closed.last_updated, cutoff)), rng
