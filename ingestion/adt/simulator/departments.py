"""The 49 wards (7 hospitals x 7 departments), their bed capacity, and the feed's department typos.

Capacity is read from ``seeds/hospital_departments.csv``, the same file dbt seeds, so the
warehouse computes occupancy against exactly the beds the simulator had: an occupancy above
100% in gold can then only come from a modelling bug, never from two copies of the numbers.
Inside the simulator departments are their three-letter codes; the wire carries the names.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from ingestion.ehr.simulator.facilities import HOSPITALS

EMERGENCY, SURGERY, ICU, PEDIATRICS, MATERNITY, ONCOLOGY, CARDIOLOGY = (
    "EMR",
    "SUR",
    "ICU",
    "PED",
    "MAT",
    "ONC",
    "CAR",
)
# Department code -> canonical name, in the seed's (and the dashboards') order.
DEPARTMENT_NAMES: dict[str, str] = {
    EMERGENCY: "Emergency",
    SURGERY: "Surgery",
    ICU: "ICU",
    PEDIATRICS: "Pediatrics",
    MATERNITY: "Maternity",
    ONCOLOGY: "Oncology",
    CARDIOLOGY: "Cardiology",
}
DEPARTMENT_CODES: tuple[str, ...] = tuple(DEPARTMENT_NAMES)
CANONICAL_DEPARTMENTS: frozenset[str] = frozenset(DEPARTMENT_NAMES.values())

# The misspellings the upstream ADT interfaces really send (free-text ward names typed by hand),
# each mapped to its canonical name. Silver repairs department names with exactly this map.
DEPARTMENT_TYPOS: dict[str, str] = {
    "Emergancy": "Emergency",
    "EMERGENCY ": "Emergency",
    "PEDS": "Pediatrics",
    "Peds": "Pediatrics",
    "Cardiolgy": "Cardiology",
    "Oncolgy": "Oncology",
    "Surgury": "Surgery",
    "ICU.": "ICU",
    "Maternaty": "Maternity",
}

HOSPITAL_IDS: tuple[int, ...] = tuple(h.number for h in HOSPITALS)
SEED_FILE_NAME = "hospital_departments.csv"
SEED_COLUMNS = ("hospital_id", "hospital_label", "department", "department_code", "bed_capacity")


def seed_path() -> Path:
    """``seeds/hospital_departments.csv`` at the repository root (three levels above this package)."""
    return Path(__file__).resolve().parents[3] / "seeds" / SEED_FILE_NAME


@dataclass(frozen=True)
class Ward:
    """One department of one hospital, with its staffed beds."""

    hospital: int
    department: str  # code, e.g. "SUR"
    beds: int

    def bed_id(self, bed: int) -> str:
        """The wire's bed label, ``H3-SUR-15``; two digits so beds sort as numbers."""
        return f"H{self.hospital}-{self.department}-{bed:02d}"


def typos_of(department_name: str) -> tuple[str, ...]:
    """The typos that stand for ``department_name`` (every department has at least one)."""
    return tuple(typo for typo, canonical in DEPARTMENT_TYPOS.items() if canonical == department_name)


@functools.cache
def load_wards(path: Path | None = None) -> dict[tuple[int, str], Ward]:
    """Every ward by (hospital id, department code), validated against the hospitals and departments.

    A seed that misses a ward, names an unknown hospital or department, or disagrees with the
    hospitals' names in ``facilities`` is a broken contract between the simulator and dbt, so
    it fails loudly here rather than simulating a different network than the warehouse models.
    """
    source = path or seed_path()
    names = {h.number: h.name for h in HOSPITALS}
    wards: dict[tuple[int, str], Ward] = {}
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != SEED_COLUMNS:
            raise ValueError(f"{source}: expected columns {SEED_COLUMNS}, got {reader.fieldnames}")
        for row in reader:
            hospital, code = int(row["hospital_id"]), row["department_code"]
            if names.get(hospital) != row["hospital_label"]:
                raise ValueError(f"{source}: hospital {hospital} is not {row['hospital_label']!r}")
            if DEPARTMENT_NAMES.get(code) != row["department"]:
                raise ValueError(f"{source}: department {code!r} is not {row['department']!r}")
            beds = int(row["bed_capacity"])
            if beds < 1 or beds > 99:
                raise ValueError(f"{source}: {hospital}/{code} has {beds} beds (bed ids need 1-99)")
            wards[(hospital, code)] = Ward(hospital, code, beds)
    missing = [(h, c) for h in HOSPITAL_IDS for c in DEPARTMENT_CODES if (h, c) not in wards]
    if missing:
        raise ValueError(f"{source}: wards missing from the seed: {missing}")
    return wards


def hospital_beds(wards: dict[tuple[int, str], Ward]) -> dict[int, int]:
    """Total staffed beds per hospital: the hospitals' relative size, which scales their arrivals."""
    totals = dict.fromkeys(HOSPITAL_IDS, 0)
    for ward in wards.values():
        totals[ward.hospital] += ward.beds
    return totals
