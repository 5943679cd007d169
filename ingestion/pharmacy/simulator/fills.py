"""Who fills what, when: maintenance therapies from chronic diagnoses, acute courses from visits.

A maintenance therapy starts shortly after its condition is first recorded and is refilled every
days_supply days give or take the patient's adherence: adherent patients mostly refill on time
or a few days early (overlapping supplies), non-adherent ones leave long gaps and may stop.
Every stream of random draws is keyed by (seed, system, patient, therapy), and a fill depends only
on facts dated before it, so a later EHR extract or a longer horizon only appends fills.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from ingestion.billing.simulator.chargemaster import unit_hash
from ingestion.pharmacy.simulator import drugs
from ingestion.pharmacy.simulator.conditions import Diagnosis
from ingestion.pharmacy.simulator.drugs import Drug

ADHERENT_SHARE = 0.66  # patient x therapy; most adherent years then reach PDC >= 80%
NINETY_DAY_SHARE = 0.2
START_DELAY = (0, 10)  # days from diagnosis to the first fill
STOP_RATE = 0.04  # per refill, non-adherent patients only
RANDOM_ACUTE_MEAN_DAYS = 700  # an acute course now and then outside the recorded visits
# rx number layout (unique per network, hence per payer): maintenance slots, then acute spaces
SYSTEM_INDEX = {"athena": 0, "epic": 1}
PATIENT_SPACE, FILL_SPACE, RANDOM_SPACE, CONDITION_SPACE = 10**6, 800, 100, 10**8
ENCOUNTER_BASE = 2 * PATIENT_SPACE * len(drugs.MAINTENANCE_CLASSES) * FILL_SPACE
RANDOM_BASE = ENCOUNTER_BASE + 2 * CONDITION_SPACE


@dataclass(frozen=True, slots=True)
class Fill:
    system: str
    patient: int
    rx_number: int  # unique in the network; files show it scrambled as the rx_claim_id
    drug: Drug
    fill_date: date
    days_supply: int
    prescriber: int  # EHR practitioner id


def patient_fills(
    seed: int, system: str, patient: int, diagnoses: list[Diagnosis], history_start: date, until: date
) -> list[Fill]:
    """The patient's fills dated history_start..until (the patient's diagnoses in recorded order)."""
    if patient >= PATIENT_SPACE:
        raise ValueError(f"patient id {patient} does not fit the rx number layout")
    base = SYSTEM_INDEX[system] * PATIENT_SPACE + patient
    fills: list[Fill] = []
    for slot, (klass, onset) in _therapies(seed, system, patient, diagnoses):
        number = (base * len(drugs.MAINTENANCE_CLASSES) + slot) * FILL_SPACE
        fills.extend(_therapy(seed, system, patient, klass, onset, number, history_start, until))
    fills.extend(_acute_from_visits(seed, system, patient, diagnoses, history_start, until))
    if diagnoses:
        fills.extend(
            _random_acute(seed, system, patient, diagnoses[0].practitioner, base, history_start, until)
        )
    return fills


def _therapies(
    seed: int, system: str, patient: int, diagnoses: list[Diagnosis]
) -> Iterator[tuple[int, tuple[str, Diagnosis]]]:
    """(slot, (class, the diagnosis that starts it)) of each maintenance therapy the patient takes."""
    first: dict[str, Diagnosis] = {}
    for diagnosis in diagnoses:
        for klass, codes in (
            (drugs.DIABETES, drugs.DIABETES_CODES),
            (drugs.RAS, drugs.HYPERTENSION_CODES),
            ("lipids", drugs.LIPID_CODES),
            (drugs.ANTIDEPRESSANT, drugs.DEPRESSION_CODES),
        ):
            if diagnosis.category in codes:
                first.setdefault(klass, diagnosis)
    for slot, klass in enumerate(drugs.MAINTENANCE_CLASSES):
        point = unit_hash(seed, "pharmacy-treated", system, patient, klass)
        share = drugs.TREATED_SHARE[klass]
        onset: Diagnosis | None = None
        if klass == drugs.STATIN:
            reasons = [first.get("lipids") if point < share else None]
            reasons.append(first.get(drugs.DIABETES) if point < drugs.STATIN_FOR_DIABETES else None)
            onset = min((r for r in reasons if r is not None), default=None)
        elif klass in first and point < share:
            onset = first[klass]
        elif klass == drugs.ANTIDEPRESSANT and diagnoses and point > 1 - drugs.ANTIDEPRESSANT_BACKGROUND:
            onset = diagnoses[0]
        if onset is not None:
            yield slot, (klass, onset)


def _therapy(
    seed: int,
    system: str,
    patient: int,
    klass: str,
    onset: Diagnosis,
    number: int,
    history_start: date,
    until: date,
) -> Iterator[Fill]:
    rng = Random(f"{seed}:pharmacy:therapy:{system}:{patient}:{klass}")
    drug = drugs.pick(drugs.BY_CLASS[klass], rng.random())
    supply = 90 if rng.random() < NINETY_DAY_SHARE else 30
    adherent = rng.random() < ADHERENT_SHARE
    day = max(onset.recorded + timedelta(days=rng.randint(*START_DELAY)), history_start)
    for index in range(FILL_SPACE):
        if day > until:
            return
        yield Fill(system, patient, number + index, drug, day, supply, onset.practitioner)
        roll = rng.random()
        if adherent:
            # early refills (1..7 days) overlap the previous supply: PDC must shift them forward
            gap = (
                -rng.randint(1, 7)
                if roll < 0.25
                else rng.randint(0, 4)
                if roll < 0.85
                else rng.randint(5, 15)
            )
        else:
            if roll < STOP_RATE:
                return
            gap = -rng.randint(1, 5) if roll < 0.12 else rng.randint(10, 45)
        day += timedelta(days=supply + gap)


def _acute(rng: Random, klass: str) -> tuple[Drug, int]:
    drug = drugs.pick(drugs.BY_CLASS[klass], rng.random())
    return drug, rng.randint(*drug.days)


def _acute_from_visits(
    seed: int, system: str, patient: int, diagnoses: list[Diagnosis], history_start: date, until: date
) -> Iterator[Fill]:
    for diagnosis in diagnoses:
        treatment = drugs.ACUTE_BY_CATEGORY.get(diagnosis.category)
        if treatment is None:
            continue
        rng = Random(f"{seed}:pharmacy:acute:{system}:{diagnosis.condition_id}")
        if rng.random() >= treatment[1]:
            continue
        drug, days = _acute(rng, treatment[0])
        day = diagnosis.recorded + timedelta(days=rng.randint(0, 1))
        if history_start <= day <= until and diagnosis.condition_id < CONDITION_SPACE:
            number = ENCOUNTER_BASE + SYSTEM_INDEX[system] * CONDITION_SPACE + diagnosis.condition_id
            yield Fill(system, patient, number, drug, day, days, diagnosis.practitioner)


def _random_acute(
    seed: int, system: str, patient: int, prescriber: int, base: int, history_start: date, until: date
) -> Iterator[Fill]:
    rng = Random(f"{seed}:pharmacy:random-acute:{system}:{patient}")
    day = history_start
    for index in range(RANDOM_SPACE):
        day += timedelta(days=1 + int(rng.expovariate(1 / RANDOM_ACUTE_MEAN_DAYS)))
        drug, days = _acute(rng, drugs.ANTIBIOTIC if rng.random() < 0.5 else drugs.ANALGESIC)
        if day > until:
            return
        yield Fill(system, patient, RANDOM_BASE + base * RANDOM_SPACE + index, drug, day, days, prescriber)
