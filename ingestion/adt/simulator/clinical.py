"""Patient flow through a hospital: which ward a patient needs, how long they stay, where next.

A stay is a chain of segments, one per ward. Each segment's length is log-normal per ward (ED
hours, ICU days, Maternity two to three days, Oncology close to a week) and ends in a transfer
or a discharge drawn from the ward's outflow. Inpatient discharges happen between 10:00 and
17:00 local time, as discharge rounds make them; ED discharges and transfers happen whenever.
Children only see the ED, Pediatrics and the ICU; Maternity only sees women of 15-49.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random

from ingestion.adt.simulator.departments import (
    CARDIOLOGY,
    EMERGENCY,
    ICU,
    MATERNITY,
    ONCOLOGY,
    PEDIATRICS,
    SURGERY,
)
from ingestion.ehr.simulator.clock import HOSPITAL_TZ
from ingestion.ehr.simulator.codes import WeightedChoice

HOUR = 3600
DAY = 24 * HOUR
MAX_TRANSFERS = 3  # after three moves a stay ends at its next step
DISCHARGE_ROUNDS = (10, 17)  # local hours between which inpatients go home


@dataclass(frozen=True)
class Segment:
    """Length of stay in a ward: log-normal hours around ``median_h``, clamped."""

    median_h: float
    sigma: float
    min_h: float
    max_h: float

    def draw_seconds(self, rng: Random) -> int:
        hours = self.median_h * math.exp(rng.gauss(0.0, self.sigma))
        return round(min(self.max_h, max(self.min_h, hours)) * HOUR)


SEGMENTS: dict[str, Segment] = {
    EMERGENCY: Segment(4.5, 0.55, 1.0, 30.0),
    SURGERY: Segment(40.0, 0.6, 12.0, 14 * 24.0),
    ICU: Segment(42.0, 0.6, 12.0, 14 * 24.0),
    PEDIATRICS: Segment(40.0, 0.5, 8.0, 7 * 24.0),
    MATERNITY: Segment(50.0, 0.2, 24.0, 5 * 24.0),
    ONCOLOGY: Segment(66.0, 0.5, 24.0, 21 * 24.0),
    CARDIOLOGY: Segment(52.0, 0.5, 12.0, 10 * 24.0),
}

# Share of segments in a ward that end in a transfer rather than a discharge.
TRANSFER_SHARE: dict[str, float] = {
    EMERGENCY: 0.15,
    SURGERY: 0.08,
    ICU: 0.6,
    PEDIATRICS: 0.04,
    MATERNITY: 0.02,
    ONCOLOGY: 0.06,
    CARDIOLOGY: 0.1,
}


def _choice(weights: dict[str, float]) -> WeightedChoice:
    return WeightedChoice(tuple(weights), tuple(weights.values()))


# Where a ward sends the patients it transfers, by patient group.
_ED_ONWARD = {
    "child": _choice({PEDIATRICS: 85, ICU: 15}),
    "woman": _choice({MATERNITY: 20, SURGERY: 28, CARDIOLOGY: 20, ICU: 22, ONCOLOGY: 10}),
    "adult": _choice({SURGERY: 35, CARDIOLOGY: 30, ICU: 25, ONCOLOGY: 10}),
}
_ICU_STEP_DOWN = {
    "child": _choice({PEDIATRICS: 1}),
    "woman": _choice({SURGERY: 40, CARDIOLOGY: 45, ONCOLOGY: 15}),
    "adult": _choice({SURGERY: 40, CARDIOLOGY: 45, ONCOLOGY: 15}),
}

# Which ward an arriving patient needs. Unscheduled: most come through the ED; booked
# (elective) admissions go straight to surgery, oncology, cardiology or maternity.
_UNSCHEDULED_WARD = {
    "child": _choice({EMERGENCY: 68, PEDIATRICS: 30, ICU: 2}),
    "woman": _choice({EMERGENCY: 50, MATERNITY: 38, SURGERY: 5, CARDIOLOGY: 2, ONCOLOGY: 2, ICU: 3}),
    "adult": _choice({EMERGENCY: 80, SURGERY: 8, CARDIOLOGY: 6, ONCOLOGY: 3, ICU: 3}),
    "senior": _choice({EMERGENCY: 72, SURGERY: 6, CARDIOLOGY: 12, ONCOLOGY: 5, ICU: 5}),
}
_SCHEDULED_WARD = {
    "woman": _choice({SURGERY: 40, ONCOLOGY: 18, CARDIOLOGY: 8, MATERNITY: 34}),
    "adult": _choice({SURGERY: 58, ONCOLOGY: 25, CARDIOLOGY: 17}),
}


def patient_group(age: int, gender: str) -> str:
    """child (<18), woman (of child-bearing age 18-49), senior (65+) or adult."""
    if age < 18:
        return "child"
    if gender == "F" and age <= 49:
        return "woman"
    if age >= 65:
        return "senior"
    return "adult"


def arrival_ward(rng: Random, age: int, gender: str, scheduled: bool) -> str:
    group = patient_group(age, gender)
    if scheduled:
        if group == "child":
            return PEDIATRICS
        return _SCHEDULED_WARD["woman" if group == "woman" else "adult"].draw(rng)
    return _UNSCHEDULED_WARD[group].draw(rng)


@dataclass(frozen=True)
class NextStep:
    """How the current segment ends: at ``time`` (epoch seconds), a transfer to ``target`` or a discharge."""

    time: int
    target: str | None  # None: discharge


def plan_segment(rng: Random, ward: str, start: int, transfers: int, age: int, gender: str) -> NextStep:
    """Draw how long the patient stays in ``ward`` from ``start`` and what happens then."""
    end = start + SEGMENTS[ward].draw_seconds(rng)
    target: str | None = None
    if transfers < MAX_TRANSFERS and rng.random() < TRANSFER_SHARE[ward]:
        target = _onward(rng, ward, age, gender)
    if target is None and ward != EMERGENCY:
        end = _at_discharge_rounds(rng, end, earliest=start + 4 * HOUR)
    return NextStep(end, target)


def _onward(rng: Random, ward: str, age: int, gender: str) -> str:
    group = patient_group(age, gender)
    key = "adult" if group == "senior" else group
    if ward == EMERGENCY:
        return _ED_ONWARD[key].draw(rng)
    if ward == ICU:
        return _ICU_STEP_DOWN[key].draw(rng)
    return ICU  # deterioration on a ward: up to intensive care


def _at_discharge_rounds(rng: Random, end: int, earliest: int) -> int:
    """Move a discharge to discharge rounds on its local day (or the next day if that is too early)."""
    local = datetime.fromtimestamp(end, UTC).astimezone(HOSPITAL_TZ)
    first, last = DISCHARGE_ROUNDS
    for day_offset in (0, 1, 2):
        day = local.date() + timedelta(days=day_offset)
        minute = rng.randint(first * 60, last * 60 - 1)
        moment = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=HOSPITAL_TZ)
        candidate = int(moment.timestamp()) + rng.randint(0, 59)
        if candidate >= earliest:
            return candidate
    return max(end, earliest)


def transfer_wait_seconds(rng: Random) -> int:
    """How long a patient boards before the next attempt when the target ward is full."""
    return rng.randint(HOUR, 3 * HOUR)


# Vital signs: (mean, sd) per ward for heart rate, systolic, SpO2 and temperature, for adults.
@dataclass(frozen=True)
class VitalNorms:
    heart_rate: tuple[float, float]
    systolic: tuple[float, float]
    o2: tuple[float, float]
    temperature: tuple[float, float]


VITALS: dict[str, VitalNorms] = {
    EMERGENCY: VitalNorms((92, 17), (132, 20), (97, 2.2), (37.1, 0.6)),
    SURGERY: VitalNorms((84, 13), (128, 16), (97, 1.8), (37.0, 0.5)),
    ICU: VitalNorms((104, 22), (116, 26), (93, 3.8), (37.6, 0.9)),
    PEDIATRICS: VitalNorms((96, 15), (128, 12), (97, 2.0), (37.5, 0.8)),
    MATERNITY: VitalNorms((88, 11), (118, 13), (98, 1.0), (36.9, 0.35)),
    ONCOLOGY: VitalNorms((90, 14), (122, 16), (96, 2.2), (37.2, 0.7)),
    CARDIOLOGY: VitalNorms((84, 21), (138, 24), (95, 2.6), (36.8, 0.4)),
}
_CALM_HEART_RATE = 84.0  # the surgical ward's mean: the reference that wards' acuity is measured from
_ADULT_SYSTOLIC = 128.0
_CHILD_SYSTOLIC = 104.0
_NORMAL_O2 = 98.0
_NORMAL_TEMPERATURE = 36.8


def _resting_heart_rate(age: int) -> float:
    """Resting heart rate falls from ~130 in infants to adult values in the teens."""
    if age >= 18:
        return 76.0
    return 130.0 if age < 1 else 115.0 if age < 6 else 98.0 if age < 12 else 84.0


def draw_vitals(rng: Random, ward: str, age: int, discharge: bool) -> dict[str, float | int]:
    """Vital signs for an event in ``ward``: ward acuity on top of the age's normal values.

    At discharge the values sit halfway back to normal and vary less, as they do once a
    patient is well enough to go home.
    """
    norms = VITALS[ward]
    pull = 0.5 if discharge else 0.0
    spread = 0.6 if discharge else 1.0

    def draw(mean: float, sd: float, normal: float) -> float:
        return rng.gauss(mean + (normal - mean) * pull, sd * spread)

    resting = _resting_heart_rate(age)
    hr_mean = resting + max(0.0, norms.heart_rate[0] - _CALM_HEART_RATE) + (8.0 if age >= 18 else 0.0)
    sys_normal = _CHILD_SYSTOLIC if age < 12 else _ADULT_SYSTOLIC - 8
    sys_mean = sys_normal + (norms.systolic[0] - _ADULT_SYSTOLIC) * (0.5 if age < 12 else 1.0)
    heart_rate = draw(hr_mean, norms.heart_rate[1], resting)
    systolic = round(min(230, max(70, draw(sys_mean, norms.systolic[1], sys_normal))))
    diastolic = round(min(systolic - 20, max(38, systolic * 0.62 + rng.gauss(0, 7))))
    return {
        "heart_rate": round(min(190, max(38, heart_rate))),
        "bp_systolic": systolic,
        "bp_diastolic": diastolic,
        "o2_saturation": round(min(100, max(72, draw(*norms.o2, _NORMAL_O2)))),
        "temperature_c": round(min(41.5, max(35.0, draw(*norms.temperature, _NORMAL_TEMPERATURE))), 1),
    }
