"""Encounters: when visits happen, how they end, and what gets coded on them.

Closed encounters (finished, cancelled, entered-in-error) are drawn here, per patient as
history or per day in an incremental extract; nothing about them changes later. A finished
one's chart (diagnoses, services, diagnostic report) is drawn here too. Open ones
(planned, in-progress) live in ``open_encounters``. The status and timing constants of both
are kept together here, since together they make the status mix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from random import Random

from ingestion.ehr.simulator.clock import clamp_before, local_date, local_instant
from ingestion.ehr.simulator.codes import (
    ADULT_EXAM_CODES,
    CHILD_EXAM_CODE,
    CHRONIC_CODES,
    VISIT_CHOICES,
    WeightedChoice,
    preventive_visit,
    services_for,
)
from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.fhir import Visit
from ingestion.ehr.simulator.patients import PatientProfile, diagnosis_sampler
from ingestion.ehr.simulator.reports import Report, plan_report

HISTORY_DAYS = 730
# Final status mix over the initial extract: 58 finished, 18 cancelled, 12 planned,
# 7 in-progress, 5 entered-in-error. Closed ones are drawn directly; open ones are added at
# 19 per 81 closed. Planned visits are booked up to a year ahead (annual physicals), which is
# what makes 12% of all encounters plausibly in the future. A realistic census of current
# admissions is far below 7% of two years of encounters, so almost all of the initial
# extract's in-progress encounters are stale: opened months ago and never closed by the EHR,
# a classic defect for silver to flag.
CLOSED_STATUS = WeightedChoice(("finished", "cancelled", "entered-in-error"), (58, 18, 5))
OPEN_PER_CLOSED = 19 / 81
PLANNED_OF_OPEN = {"initial": 12 / 19, "incremental": 0.73}
RECENT_IN_PROGRESS = 0.006  # of the initial extract's in-progress encounters
ENCOUNTER_CLASS = WeightedChoice(("AMB", "EMER", "IMP"), (80, 12, 8))
# A day's new closed encounters: admissions arrive as in-progress encounters instead.
SAME_DAY_CLASS = WeightedChoice(("AMB", "EMER"), (80, 12))
ADMISSION_CLASS = WeightedChoice(("IMP", "EMER"), (70, 30))
STALE_CLASS = WeightedChoice(("AMB", "IMP", "EMER"), (60, 20, 20))
# Coded per finished visit, as on a claim: about 2.1 diagnoses, and the visit's own E/M line plus
# about 2.2 services (ambulatory 1.8, emergency 3.1, inpatient 4.3). At the default scale that
# is a mid-size network's volume: over 30,000 conditions and 45,000 procedures.
CONDITION_COUNT = WeightedChoice(("1", "2", "3", "4", "5"), (35, 35, 18, 8, 4))
SERVICE_COUNT = {
    "AMB": WeightedChoice(("0", "1", "2", "3", "4", "5", "6"), (20, 25, 25, 15, 9, 4, 2)),
    "EMER": WeightedChoice(("0", "1", "2", "3", "4", "5", "6"), (5, 10, 20, 25, 20, 12, 8)),
    "IMP": WeightedChoice(("1", "2", "3", "4", "5", "6", "7"), (5, 10, 20, 25, 20, 12, 8)),
}
_CODING_TRIES = 3  # draws per wanted code before giving up on a duplicate
BOOKING_LEAD_DAYS = 365
MAX_LEAD_DAYS = BOOKING_LEAD_DAYS + 2  # bookings are moved off weekends
NEVER_CLOSED = 0.05  # of newly opened encounters: the EHR never updates them
NO_SHOW = 0.2
PREVENTIVE_SHARE = 0.15
PROBLEM_SHARE = 0.55
AWAY_SHARE = 0.08
GP_VISIT_SHARE = 0.6
_AMB_MINUTES = (15, 20, 30, 30, 40, 45, 60)
# Emergency arrivals peak in the afternoon and evening.
_EMER_HOURS = (0, 1, 2, 3, 4, 5, 6, 7, *range(8, 24), *range(10, 23), *range(13, 21))
_MINUTE = timedelta(minutes=1)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def visit_code(rng: Random, encounter_class: str, age: int, first_visit: bool) -> str:
    if encounter_class != "AMB":
        return VISIT_CHOICES[encounter_class].draw(rng)
    if first_visit:
        return VISIT_CHOICES["new"].draw(rng)
    if rng.random() < PREVENTIVE_SHARE:
        return preventive_visit(age)
    return VISIT_CHOICES["established"].draw(rng)


def start_on(rng: Random, day: date, encounter_class: str) -> datetime:
    if encounter_class == "AMB":
        return local_instant(day, rng.randint(8, 16), rng.choice((0, 15, 30, 45)))
    if encounter_class == "EMER":
        return local_instant(day, rng.choice(_EMER_HOURS), rng.randint(0, 59))
    return local_instant(day, rng.randint(6, 21), rng.randint(0, 59))


def end_after(rng: Random, encounter_class: str, start: datetime) -> datetime:
    if encounter_class == "AMB":
        return start + minutes(rng.choice(_AMB_MINUTES))
    if encounter_class == "EMER":
        return start + minutes(rng.randint(90, 540))
    discharge_day = local_date(start) + timedelta(days=rng.randint(1, 7))
    return local_instant(discharge_day, rng.randint(10, 17), rng.randint(0, 59))


def place(
    rng: Random, ctx: SystemContext, profile: PatientProfile, encounter_class: str
) -> tuple[int, int, int]:
    """(hospital, location, practitioner): mostly the home hospital, often the patient's own GP."""
    hospital = profile.home_hospital
    if rng.random() < AWAY_SHARE:
        hospital = rng.choice(ctx.hospital_numbers)
    location = ctx.facility_for(rng, hospital, encounter_class)
    gp = profile.general_practitioner
    if (
        encounter_class == "AMB"
        and gp is not None
        and ctx.hospital_of_practitioner(gp).number == hospital
        and rng.random() < GP_VISIT_SHARE
    ):
        return hospital, location, gp
    return hospital, location, ctx.practitioner_at(rng, hospital)


def closed_visit(
    rng: Random,
    ctx: SystemContext,
    profile: PatientProfile,
    encounter_id: int,
    day: date,
    encounter_class: str,
    status: str,
    first_visit: bool,
    cutoff: datetime,
) -> Visit:
    """A visit that is over by the extract cut-off (moved earlier if it would still be running)."""
    code = visit_code(rng, encounter_class, profile.age_on(day), first_visit)
    hospital, location, practitioner = place(rng, ctx, profile, encounter_class)
    start = start_on(rng, day, encounter_class)
    end = end_after(rng, encounter_class, start)
    latest_end = cutoff - 2 * _MINUTE
    if end > latest_end:
        shift = timedelta(hours=math.ceil((end - latest_end) / timedelta(hours=1)))
        start, end = start - shift, end - shift
    final_end: datetime | None = end
    if status == "finished":
        last_updated = end + minutes(rng.randint(5, 240))
    elif status == "cancelled":
        final_end = None
        if rng.random() < 0.7:
            last_updated = start - minutes(rng.randint(60, 7 * 24 * 60))
        else:
            last_updated = start + minutes(rng.randint(15, 180))
    else:
        last_updated = end + minutes(rng.randint(60, 30 * 24 * 60))
    return Visit(
        encounter_id=encounter_id,
        status=status,
        encounter_class=encounter_class,
        visit_code=code,
        patient_id=profile.patient_id,
        practitioner_id=practitioner,
        hospital=hospital,
        location=location,
        start=start,
        end=final_end,
        last_updated=clamp_before(last_updated, cutoff),
    )


def earlier_version(rng: Random, visit: Visit) -> Visit:
    """A previous state of ``visit`` that the feed also sends (strictly older ``lastUpdated``)."""
    if visit.status == "finished" and rng.random() < 0.5:
        earlier = replace(
            visit, status="in-progress", end=None, last_updated=visit.start + minutes(rng.randint(1, 20))
        )
    elif visit.status == "cancelled":
        booked = min(visit.start, visit.last_updated) - minutes(rng.randint(60, 30 * 24 * 60))
        earlier = replace(visit, status="planned", last_updated=booked)
    elif visit.status == "entered-in-error" and visit.end is not None:
        earlier = replace(visit, status="finished", last_updated=visit.end + minutes(rng.randint(5, 240)))
    else:
        earlier = replace(visit, last_updated=visit.last_updated - minutes(rng.randint(1, 600)))
    if earlier.last_updated >= visit.last_updated:
        earlier = replace(earlier, last_updated=visit.last_updated - _MINUTE)
    return earlier


@dataclass(frozen=True)
class Chart:
    """What a finished visit adds to the record: (code, clinical, verification), (code, time)
    and, for about a third of visits, a diagnostic report."""

    diagnoses: list[tuple[str, str, str]]
    services: list[tuple[str, datetime]]
    report: Report | None


def chart(rng: Random, profile: PatientProfile, visit: Visit) -> Chart:
    age = profile.age_on(local_date(visit.start))
    codes: list[str] = []
    if visit.visit_code.startswith("993"):
        abnormal = rng.random() < 0.25
        codes.append(
            CHILD_EXAM_CODE if age < 18 else ADULT_EXAM_CODES[1] if abnormal else ADULT_EXAM_CODES[0]
        )
    wanted = int(CONDITION_COUNT.draw(rng))
    sampler = diagnosis_sampler()
    for _ in range(_CODING_TRIES * (wanted + 1)):
        if len(codes) >= wanted:
            break
        if profile.problems and rng.random() < PROBLEM_SHARE:
            code = rng.choice(profile.problems)
        else:
            code = sampler.draw(rng)
        if code not in codes:
            codes.append(code)
    diagnoses = []
    for code in codes:
        clinical = "active" if code in CHRONIC_CODES or rng.random() < 0.6 else "resolved"
        roll = rng.random()
        verification = "confirmed" if roll < 0.92 else "provisional" if roll < 0.97 else "differential"
        diagnoses.append((code, clinical, verification))
    end = visit.end or visit.start
    span = max(0, int((end - visit.start) / _MINUTE))
    services = [(visit.visit_code, visit.start)]
    choice = services_for(visit.encounter_class)
    wanted = 1 + int(SERVICE_COUNT[visit.encounter_class].draw(rng))
    for _ in range(_CODING_TRIES * wanted):
        if len(services) >= wanted:
            break
        code = choice.draw(rng)
        if all(code != existing for existing, _ in services):
            services.append((code, visit.start + minutes(rng.randint(0, span))))
    report = plan_report(rng, visit.encounter_class, visit.start, services)
    return Chart(diagnoses=diagnoses, services=services, report=report)
