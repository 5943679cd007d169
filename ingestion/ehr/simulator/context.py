"""One EHR system's fixed facts: its hospitals, facilities and practitioner roster.

Practitioners are assigned to hospitals round-robin by id, so "a practitioner of hospital h"
is an arithmetic draw, not a lookup table: the roster scales to any size in constant memory.
``seed`` is the roster seed (the initial extract's): what derives from the roster, such as
practitioner roles, must not change when a later extract runs with another seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from ingestion.ehr.simulator.facilities import Facility, Hospital, facilities_of, hospitals_of, main_campus

PATIENTS_PER_PRACTITIONER = 25
# Relative size of each hospital's patient panel.
PATIENT_SHARE = {1: 35, 2: 25, 3: 25, 4: 15, 5: 45, 6: 30, 7: 25, 8: 100}


def practitioners_for(patients: int, hospitals: int) -> int:
    return max(3 * hospitals, round(patients / PATIENTS_PER_PRACTITIONER))


@dataclass(frozen=True)
class SystemContext:
    system: str
    practitioners: int
    seed: int
    hospitals: tuple[Hospital, ...] = field(init=False)
    hospital_numbers: tuple[int, ...] = field(init=False)
    facilities: dict[int, tuple[Facility, ...]] = field(init=False)
    main_campus: dict[int, int] = field(init=False)
    home_cum_weights: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        hospitals = hospitals_of(self.system)
        if not hospitals:
            raise ValueError(f"unknown EHR system {self.system!r}")
        if self.practitioners < len(hospitals):
            raise ValueError("every hospital needs at least one practitioner")
        object.__setattr__(self, "hospitals", hospitals)
        object.__setattr__(self, "hospital_numbers", tuple(h.number for h in hospitals))
        object.__setattr__(self, "facilities", {h.number: facilities_of(h.number) for h in hospitals})
        object.__setattr__(self, "main_campus", {h.number: main_campus(h.number).number for h in hospitals})
        cumulative, total = [], 0
        for hospital in hospitals:
            total += PATIENT_SHARE[hospital.number]
            cumulative.append(total)
        object.__setattr__(self, "home_cum_weights", tuple(cumulative))

    def home_hospital(self, rng: Random) -> int:
        return rng.choices(self.hospital_numbers, cum_weights=self.home_cum_weights)[0]

    def hospital_of_practitioner(self, practitioner_id: int) -> Hospital:
        return self.hospitals[(practitioner_id - 1) % len(self.hospitals)]

    def practitioner_at(self, rng: Random, hospital: int) -> int:
        """A practitioner of ``hospital``: ids k+1, k+1+m, k+1+2m, ... where k is its index."""
        index = self.hospital_numbers.index(hospital)
        spacing = len(self.hospitals)
        count = len(range(index + 1, self.practitioners + 1, spacing))
        return index + 1 + spacing * rng.randrange(count)

    def facility_for(self, rng: Random, hospital: int, encounter_class: str) -> int:
        """Emergency and inpatient care happen on the main campus; clinics see ambulatory visits."""
        if encounter_class != "AMB":
            return self.main_campus[hospital]
        return rng.choice(self.facilities[hospital]).number
