"""The billing systems' department master: every ward of seeds/hospital_departments.csv, per system.

Department ids are system-local integers from 1 in (hospital, seed department order), so the
same id names different departments in athena and epic, as two real vendors' keys would.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.adt.simulator.departments import DEPARTMENT_CODES, DEPARTMENT_NAMES, load_wards
from ingestion.ehr.simulator.facilities import hospitals_of


@dataclass(frozen=True)
class Department:
    dept_id: int
    hospital: int
    code: str

    @property
    def name(self) -> str:
        return DEPARTMENT_NAMES[self.code]


def system_departments(system: str) -> dict[tuple[int, str], Department]:
    """(hospital, department code) -> department, in dept_id order."""
    wards = load_wards()
    keys = [(h.number, code) for h in hospitals_of(system) for code in DEPARTMENT_CODES]
    missing = [key for key in keys if key not in wards]
    if missing:
        raise ValueError(f"departments missing from the seed: {missing}")
    return {key: Department(index, *key) for index, key in enumerate(keys, start=1)}
