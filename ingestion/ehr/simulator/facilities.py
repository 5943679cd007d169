"""The seven (fictional) hospitals and their ten facilities, and which EHR each one runs.

Hospitals 1-4 (Massachusetts) run athena, 5-7 (Ohio) run epic. Organization and Location ids
are the carehouse hospital and facility numbers, so they match the hospital seeds directly;
patients, encounters and practitioners are numbered per system instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hospital:
    number: int
    system: str
    name: str
    street: str
    city: str
    state: str
    postal_code: str
    phone: str


@dataclass(frozen=True)
class Facility:
    number: int
    hospital: int
    name: str
    role: str  # HL7 v3 RoleCode: HOSP = hospital campus, OF = outpatient facility
    street: str
    city: str
    state: str
    postal_code: str


HOSPITALS: tuple[Hospital, ...] = (
    Hospital(
        1,
        "athena",
        "Mill River Medical Center",
        "400 Plantation St",
        "Worcester",
        "MA",
        "01605",
        "(508) 555-0101",
    ),
    Hospital(
        2,
        "athena",
        "Connecticut Valley General Hospital",
        "759 Chestnut St",
        "Springfield",
        "MA",
        "01107",
        "(413) 555-0102",
    ),
    Hospital(
        3, "athena", "Merrimack Falls Hospital", "295 Varnum Ave", "Lowell", "MA", "01854", "(978) 555-0103"
    ),
    Hospital(
        4,
        "athena",
        "Quarry Point Community Hospital",
        "114 Whitwell St",
        "Quincy",
        "MA",
        "02169",
        "(617) 555-0104",
    ),
    Hospital(
        5,
        "epic",
        "Scioto Ridge Medical Center",
        "410 W 10th Ave",
        "Columbus",
        "OH",
        "43210",
        "(614) 555-0105",
    ),
    Hospital(
        6, "epic", "Great Miami Valley Hospital", "1 Wyoming St", "Dayton", "OH", "45409", "(937) 555-0106"
    ),
    Hospital(
        7,
        "epic",
        "Maumee Bay General Hospital",
        "2142 N Cove Blvd",
        "Toledo",
        "OH",
        "43606",
        "(419) 555-0107",
    ),
)

FACILITIES: tuple[Facility, ...] = (
    Facility(
        1,
        1,
        "Mill River Medical Center - Main Campus",
        "HOSP",
        "400 Plantation St",
        "Worcester",
        "MA",
        "01605",
    ),
    Facility(2, 1, "Mill River Shrewsbury Clinic", "OF", "26 Julio Dr", "Shrewsbury", "MA", "01545"),
    Facility(
        3,
        2,
        "Connecticut Valley General Hospital - Main Campus",
        "HOSP",
        "759 Chestnut St",
        "Springfield",
        "MA",
        "01107",
    ),
    Facility(
        4, 3, "Merrimack Falls Hospital - Main Campus", "HOSP", "295 Varnum Ave", "Lowell", "MA", "01854"
    ),
    Facility(
        5,
        3,
        "Merrimack Falls Chelmsford Outpatient Center",
        "OF",
        "10 Research Pl",
        "Chelmsford",
        "MA",
        "01824",
    ),
    Facility(
        6,
        4,
        "Quarry Point Community Hospital - Main Campus",
        "HOSP",
        "114 Whitwell St",
        "Quincy",
        "MA",
        "02169",
    ),
    Facility(
        7, 5, "Scioto Ridge Medical Center - Main Campus", "HOSP", "410 W 10th Ave", "Columbus", "OH", "43210"
    ),
    Facility(8, 5, "Scioto Ridge Dublin Clinic", "OF", "6810 Perimeter Dr", "Dublin", "OH", "43016"),
    Facility(
        9, 6, "Great Miami Valley Hospital - Main Campus", "HOSP", "1 Wyoming St", "Dayton", "OH", "45409"
    ),
    Facility(
        10,
        7,
        "Maumee Bay General Hospital - Main Campus",
        "HOSP",
        "2142 N Cove Blvd",
        "Toledo",
        "OH",
        "43606",
    ),
)

# The third hospital, whose EHR (cerner) delivers FHIR Bulk Data exports instead of landing
# files (see ``bulk_export``). Kept apart from HOSPITALS: the ADT feed, the billing system and
# the hospital seeds cover hospitals 1-7 only.
EXPORT_HOSPITALS: tuple[Hospital, ...] = (
    Hospital(
        8,
        "cerner",
        "Susquehanna Heights Medical Center",
        "1 Riverfront Dr",
        "Harrisburg",
        "PA",
        "17101",
        "(717) 555-0108",
    ),
)
EXPORT_FACILITIES: tuple[Facility, ...] = (
    Facility(
        11,
        8,
        "Susquehanna Heights Medical Center - Main Campus",
        "HOSP",
        "1 Riverfront Dr",
        "Harrisburg",
        "PA",
        "17101",
    ),
    Facility(12, 8, "Susquehanna Heights Camp Hill Clinic", "OF", "3 Market St", "Camp Hill", "PA", "17011"),
)

# Where each system's patients live, with that state's area codes (for phone numbers).
SYSTEM_STATE = {"athena": "MA", "epic": "OH", "cerner": "PA"}
AREA_CODES = {
    "PA": ("215", "267", "412", "484", "570", "610", "717", "724", "814"),
    "MA": ("339", "351", "413", "508", "617", "774", "781", "857", "978"),
    "OH": ("216", "234", "330", "380", "419", "440", "513", "567", "614", "740", "937"),
}


def hospitals_of(system: str) -> tuple[Hospital, ...]:
    return tuple(h for h in (*HOSPITALS, *EXPORT_HOSPITALS) if h.system == system)


def facilities_of(hospital: int) -> tuple[Facility, ...]:
    return tuple(f for f in (*FACILITIES, *EXPORT_FACILITIES) if f.hospital == hospital)


def main_campus(hospital: int) -> Facility:
    return next(f for f in facilities_of(hospital) if f.role == "HOSP")
