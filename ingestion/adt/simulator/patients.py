"""Patients of the ADT system: a profile regenerated from the patient number, never stored.

The network's master patient index hands out ``P`` + 7-digit ids. Numbers below
``REGISTRY_START`` belong to patients registered before the feed began, so returning patients
exist from the very first day. A profile (gender, birth date, payer quantile) is a pure
function of (seed, feed epoch, number): the state only needs the next free number, and a
patient who comes back years later has the same gender, is older, and may have a new payer.

Birth dates are anchored at the feed's epoch (its first simulated day), so every age is a
whole number of years that only grows; the age mix is that of hospital admissions (older than
the population), not of the census.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from ingestion.adt.simulator.codes import insurance_for

REGISTRY_START = 200_001
MAX_PATIENT_NUMBER = 9_999_999
# (youngest, oldest, weight): ages of hospital admissions, older than the US population.
AGE_BANDS = ((0, 17, 12), (18, 44, 28), (45, 64, 27), (65, 79, 22), (80, 99, 11))
FEMALE_SHARE = 0.52
# A returning patient changes payer at a new stay this often (job change, Medicaid churn).
INSURANCE_CHANGE = 0.08


@dataclass(frozen=True)
class Profile:
    number: int
    gender: str  # "M" or "F"
    birth_date: date
    payer_quantile: float

    @property
    def patient_id(self) -> str:
        return patient_id(self.number)

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return max(0, years)


def patient_id(number: int) -> str:
    if not 1 <= number <= MAX_PATIENT_NUMBER:
        raise ValueError(f"patient number {number} does not fit the 7-digit ADT id")
    return f"P{number:07d}"


@functools.lru_cache(maxsize=1 << 16)
def profile(seed: int, epoch: date, number: int) -> Profile:
    """The patient behind ``number``: the same answer for the life of the feed."""
    rng = Random(f"{seed}:adt:patient:{number}")
    roll = rng.random() * sum(band[2] for band in AGE_BANDS)
    band = AGE_BANDS[-1]
    for band in AGE_BANDS:
        if roll < band[2]:
            break
        roll -= band[2]
    age = rng.randint(band[0], band[1])
    gender = "F" if rng.random() < FEMALE_SHARE else "M"
    birth = epoch - timedelta(days=round(age * 365.25) + rng.randint(0, 364))
    return Profile(number, gender, birth, rng.random())


def stay_insurance(rng: Random, person: Profile, age: int, returning: bool) -> str:
    """The payer on this stay: the patient's usual one, or (sometimes, on a return) a new one."""
    if returning and rng.random() < INSURANCE_CHANGE:
        return insurance_for(age, rng.random())
    return insurance_for(age, person.payer_quantile)
