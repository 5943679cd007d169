"""Pools of Faker-made names and places, drawn from with a plain ``random.Random``.

Calling Faker per patient costs tens of microseconds per field; drawing from pools built once
per (seed, system) costs well under one, and keeps Faker's realistic name frequencies (popular
names appear in the pool more than once). Pools depend only on the seed and the system, so any
patient can be regenerated later from its id alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from random import Random

from faker import Faker

from ingestion.ehr.simulator.facilities import AREA_CODES, SYSTEM_STATE

_GIVEN_POOL = 1500
_FAMILY_POOL = 3000
_STREET_POOL = 2500
_PLACE_POOL = 400
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Pools:
    female_given: tuple[str, ...]
    male_given: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]
    places: tuple[tuple[str, str], ...]  # (city, postal code)
    state: str
    area_codes: tuple[str, ...]

    def given_name(self, rng: Random, gender: str) -> str:
        if gender == "female" or (gender != "male" and rng.random() < 0.5):
            return rng.choice(self.female_given)
        return rng.choice(self.male_given)

    def phone(self, rng: Random) -> str:
        """A NANP-shaped number: exchange 200-999 and never an N11 service code."""
        exchange = rng.randint(200, 999)
        if exchange % 100 == 11:
            exchange += 1
        return f"({rng.choice(self.area_codes)}) {exchange}-{rng.randint(0, 9999):04d}"

    def address(self, rng: Random) -> dict[str, object]:
        lines = [f"{rng.randint(1, 9999)} {rng.choice(self.streets)}"]
        if rng.random() < 0.2:
            lines.append(f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}")
        city, postal_code = rng.choice(self.places)
        return {
            "use": "home",
            "type": "physical",
            "line": lines,
            "city": city,
            "state": self.state,
            "postalCode": postal_code,
            "country": "US",
        }


@functools.lru_cache(maxsize=16)
def pools_for(seed: int, system: str) -> Pools:
    fake = Faker("en_US")
    fake.seed_instance(f"{seed}:{system}:pools")
    state = SYSTEM_STATE[system]
    return Pools(
        female_given=tuple(fake.first_name_female() for _ in range(_GIVEN_POOL)),
        male_given=tuple(fake.first_name_male() for _ in range(_GIVEN_POOL)),
        family=tuple(fake.last_name() for _ in range(_FAMILY_POOL)),
        streets=tuple(fake.street_name() for _ in range(_STREET_POOL)),
        places=tuple((fake.city(), fake.zipcode_in_state(state)) for _ in range(_PLACE_POOL)),
        state=state,
        area_codes=AREA_CODES[state],
    )
