"""Patients: a stable profile regenerated from (cohort, id), and contact details that change.

The profile (name, sex, birth date, home hospital, registration PCP, chronic problems) is a pure
function of the creating cohort and the patient id, so a later extract can re-send an updated
patient without storing anything. Contact details (address, phones) are drawn per "contact
version": a move re-draws them, which is what an update re-sends. PCP changes are in
``changes``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from ingestion.ehr.simulator.codes import DiagnosisSampler, WeightedChoice
from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.identifiers import ssn
from ingestion.ehr.simulator.pools import EMAIL_DOMAINS, pools_for
from ingestion.ehr.simulator.roles import pick_pcp
from ingestion.ehr.simulator.state import Cohort

# (youngest, oldest, weight): roughly the US age pyramid.
AGE_BANDS = ((0, 17, 22), (18, 44, 36), (45, 64, 25), (65, 95, 17))
_AGE_BAND_CHOICE = WeightedChoice(
    tuple(str(i) for i in range(len(AGE_BANDS))), tuple(b[2] for b in AGE_BANDS)
)
_GENDER = WeightedChoice(("female", "male", "other", "unknown"), (505, 485, 5, 5))
# How many chronic problems a patient carries, by age band: weights for 0, 1, 2, 3.
_PROBLEM_COUNT = {
    0: WeightedChoice(("0", "1", "2", "3"), (70, 25, 5, 0)),
    1: WeightedChoice(("0", "1", "2", "3"), (45, 35, 15, 5)),
    2: WeightedChoice(("0", "1", "2", "3"), (25, 35, 25, 15)),
    3: WeightedChoice(("0", "1", "2", "3"), (10, 30, 30, 30)),
}
GP_SHARE = 0.95  # most patients have a primary care provider on file


@functools.cache
def diagnosis_sampler() -> DiagnosisSampler:
    return DiagnosisSampler()


@dataclass(frozen=True)
class PatientProfile:
    patient_id: int
    gender: str
    birth_date: date
    given: tuple[str, ...]
    family: str
    ssn: str | None
    email: str | None
    home_hospital: int
    general_practitioner: int | None
    problems: tuple[str, ...]

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return max(years, 0)


@dataclass(frozen=True)
class Contact:
    address: dict[str, object]
    phones: tuple[tuple[str, str], ...]  # (use, number)


def _email(rng: Random, given: str, family: str) -> str:
    local = "".join(ch for ch in f"{given}.{family}" if ch.isalnum() or ch == ".").lower()
    return f"{local}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"


def patient_profile(ctx: SystemContext, cohort: Cohort, patient_id: int) -> PatientProfile:
    rng = Random(f"{cohort.seed}:{ctx.system}:{cohort.extract_date}:patient:{patient_id}")
    pools = pools_for(cohort.seed, ctx.system)
    band = int(_AGE_BAND_CHOICE.draw(rng))
    youngest, oldest, _ = AGE_BANDS[band]
    age = rng.randint(youngest, oldest)
    birth_date = cohort.extract_date - timedelta(days=age * 365 + rng.randint(0, 364))
    gender = _GENDER.draw(rng)
    given = [pools.given_name(rng, gender)]
    if rng.random() < 0.3:
        given.append(pools.given_name(rng, gender))
    family = rng.choice(pools.family)
    home = ctx.home_hospital(rng)
    practitioner = pick_pcp(ctx, rng, home, age) if rng.random() < GP_SHARE else None
    sampler = diagnosis_sampler()
    problems: list[str] = []
    for _ in range(int(_PROBLEM_COUNT[band].draw(rng))):
        code = sampler.chronic_problem(rng, age)
        if code is not None and code not in problems:
            problems.append(code)
    return PatientProfile(
        patient_id=patient_id,
        gender=gender,
        birth_date=birth_date,
        given=tuple(given),
        family=family,
        ssn=ssn(rng) if age >= 1 and rng.random() < 0.85 else None,
        email=_email(rng, given[0], family) if age >= 13 and rng.random() < 0.6 else None,
        home_hospital=home,
        general_practitioner=practitioner,
        problems=tuple(problems),
    )


def patient_contact(ctx: SystemContext, cohort: Cohort, patient_id: int, version: str) -> Contact:
    """Address and phones as of ``version`` ("0" at registration, then the date of each move)."""
    rng = Random(f"{cohort.seed}:{ctx.system}:{cohort.extract_date}:contact:{patient_id}:{version}")
    pools = pools_for(cohort.seed, ctx.system)
    phones = [("home", pools.phone(rng))]
    if rng.random() < 0.55:
        phones.append(("mobile", pools.phone(rng)))
    return Contact(address=pools.address(rng), phones=tuple(phones))
