"""What a simulated EHR knows about its own database between extracts.

A real EHR knows which ids it has handed out and which encounters are still open. The simulator
keeps that knowledge small and inside its own output: the patient manifest of every batch
carries the system's id counters and a list of cohorts. A cohort records what one batch
created (a patient id range, an open-encounter id range and a coverage id range) and the seed
and date that created it, which is enough to regenerate any of those resources from its id
alone, without rereading (or keeping) the data. The day's changes (moves, insurance, PCP and
practitioner-role changes) are a pure function of the cohort too (see ``changes``), so the
cohort list is also the complete change log.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.landing import batch_dir, complete_batches, read_manifest

STATE_KEY = "simulator_state"
STATE_ENTITY = "patient"  # its manifest is written last and carries the state
STATE_VERSION = 2


@dataclass(frozen=True)
class Cohort:
    """What one batch created, and the seed and date that made it."""

    extract_date: date
    seed: int
    kind: str
    first_patient: int
    last_patient: int  # highest patient id known when the batch was made (inclusive)
    first_open: int
    last_open: int  # open encounters: ids first_open..last_open (empty when last < first)
    first_coverage: int  # coverages: the new patients' ones in patient order, then the day's
    last_coverage: int  # insurance changes in patient order (see ``changes``)

    def to_json(self) -> dict[str, Any]:
        return {
            "extract_date": self.extract_date.isoformat(),
            "seed": self.seed,
            "kind": self.kind,
            "patients": [self.first_patient, self.last_patient],
            "open_encounters": [self.first_open, self.last_open],
            "coverages": [self.first_coverage, self.last_coverage],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cohort:
        return cls(
            extract_date=date.fromisoformat(data["extract_date"]),
            seed=int(data["seed"]),
            kind=str(data["kind"]),
            first_patient=int(data["patients"][0]),
            last_patient=int(data["patients"][1]),
            first_open=int(data["open_encounters"][0]),
            last_open=int(data["open_encounters"][1]),
            first_coverage=int(data["coverages"][0]),
            last_coverage=int(data["coverages"][1]),
        )

    @property
    def open_ids(self) -> range:
        return range(self.first_open, self.last_open + 1)

    @property
    def patient_ids(self) -> range:
        return range(self.first_patient, self.last_patient + 1)

    def registration_coverage_id(self, patient_id: int) -> int:
        """The id of the coverage a patient of this cohort was registered with."""
        return self.first_coverage + patient_id - self.first_patient


@dataclass
class SystemState:
    """Id counters and cohorts of one EHR system as of its latest extract."""

    extract_date: date
    practitioners: int
    daily_encounters: float
    next_ids: dict[str, int]
    cohorts: list[Cohort] = field(default_factory=list)
    # first_patient of each cohort, for bisect; cohorts are only ever appended to.
    _firsts: list[int] = field(default_factory=list, repr=False, compare=False)

    @property
    def patient_count(self) -> int:
        return self.next_ids["patient"] - 1

    def take_ids(self, entity: str, count: int) -> range:
        """Hand out ``count`` fresh ids; ids are never reused within a system.

        An entity the state has no counter for yet starts at 1: the state of an extract made
        before that entity was simulated stays readable.
        """
        first = self.next_ids.get(entity, 1)
        self.next_ids[entity] = first + count
        return range(first, first + count)

    def cohort_of_patient(self, patient_id: int) -> Cohort:
        """The cohort that created ``patient_id`` (cohorts are in creation order)."""
        if len(self._firsts) != len(self.cohorts):
            self._firsts = [c.first_patient for c in self.cohorts]
        index = bisect.bisect_right(self._firsts, patient_id) - 1
        if index < 0 or patient_id > self.cohorts[index].last_patient:
            raise KeyError(f"patient {patient_id} was never created")
        return self.cohorts[index]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "extract_date": self.extract_date.isoformat(),
            "practitioners": self.practitioners,
            "daily_encounters": round(self.daily_encounters, 3),
            "next_ids": dict(self.next_ids),
            "cohorts": [c.to_json() for c in self.cohorts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SystemState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported simulator state version {data.get('version')!r}")
        return cls(
            extract_date=date.fromisoformat(data["extract_date"]),
            practitioners=int(data["practitioners"]),
            daily_encounters=float(data["daily_encounters"]),
            next_ids={k: int(v) for k, v in data["next_ids"].items()},
            cohorts=[Cohort.from_json(c) for c in data["cohorts"]],
        )


def prior_state(landing_root: Path, tenant: str, env: str, system: str, batch_id: str) -> SystemState | None:
    """The state after the latest complete extract before ``batch_id``; ``None`` if there is none.

    Extracts must move forward in time: a complete extract after ``batch_id`` means this one
    would reissue ids and updates that later batches already built on, so that is an error.
    """
    batches = complete_batches(landing_root, tenant, env, system, STATE_ENTITY)
    later = [b.name for b in batches if b.name > batch_id]
    if later:
        raise ValueError(
            f"{system} already has a later extract ({later[-1]}); extracts must be simulated in date order"
        )
    earlier = [b for b in batches if b.name < batch_id]
    if not earlier:
        return None
    return SystemState.from_json(read_manifest(earlier[-1])[STATE_KEY])


def state_batch(landing_root: Path, tenant: str, env: str, system: str, batch_id: str) -> Path:
    return batch_dir(landing_root, tenant, env, system, STATE_ENTITY, batch_id)
