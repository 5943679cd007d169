"""Business identifiers the simulated EHRs put on resources: NPIs, MRNs and SSNs.

NPIs carry a real check digit (Luhn over the ``80840`` health-industry prefix, as CMS
specifies), so silver can validate them the way a real pipeline would. Ids map to NPIs through
a bijection, so two practitioners of one system never share an NPI, at any scale.
"""

from __future__ import annotations

from random import Random

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
HOSPITAL_SYSTEM = "urn:carehouse:hospital"
FACILITY_SYSTEM = "urn:carehouse:facility"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"

_NPI_PREFIX = "80840"
_NPI_SPACE = 10**8
# Odd and not a multiple of 5, hence a unit modulo 10**8: id -> (id * step + offset) is a bijection.
_NPI_STEP = 7_654_321
_NPI_OFFSET = {"athena": 13_579_024, "epic": 86_420_135, "cerner": 42_424_242}
_MRN_FORMAT = {"athena": "A{:08d}", "epic": "E{:07d}", "cerner": "{:09d}"}


def luhn_check_digit(payload: str) -> int:
    """The digit that, appended to ``payload``, makes the Luhn sum a multiple of ten."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def make_npi(base9: str) -> str:
    if len(base9) != 9 or not base9.isdigit() or base9[0] not in "12":
        raise ValueError(f"an NPI base is 9 digits starting with 1 or 2, got {base9!r}")
    return base9 + str(luhn_check_digit(_NPI_PREFIX + base9))


def is_valid_npi(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and make_npi(npi[:9]) == npi


def practitioner_npi(system: str, practitioner_id: int) -> str:
    scrambled = (practitioner_id * _NPI_STEP + _NPI_OFFSET[system]) % _NPI_SPACE
    return make_npi(f"1{scrambled:08d}")


def organization_npi(hospital_number: int) -> str:
    return make_npi(f"2{(hospital_number * _NPI_STEP) % _NPI_SPACE:08d}")


def mrn_system(system: str) -> str:
    return f"urn:carehouse:{system}:mrn"


def mrn(system: str, patient_id: int) -> str:
    """Vendors format MRNs differently; both formats stay unique per id within the system."""
    if system == "epic":
        return _MRN_FORMAT[system].format(1_000_000 + patient_id)
    return _MRN_FORMAT[system].format(patient_id)


def ssn(rng: Random) -> str:
    """A well-formed SSN (area 001-899 except 666, group and serial never zero)."""
    area = rng.randint(1, 898)
    if area >= 666:
        area += 1
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def mr_identifier(system: str, patient_id: int) -> dict[str, object]:
    return {
        "use": "usual",
        "type": {
            "coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": "MR", "display": "Medical record number"}]
        },
        "system": mrn_system(system),
        "value": mrn(system, patient_id),
    }


def ssn_identifier(value: str) -> dict[str, object]:
    return {
        "use": "official",
        "type": {
            "coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": "SS", "display": "Social Security number"}]
        },
        "system": SSN_SYSTEM,
        "value": value,
    }


def npi_identifier(npi: str) -> dict[str, object]:
    return {
        "use": "official",
        "type": {
            "coding": [
                {"system": IDENTIFIER_TYPE_SYSTEM, "code": "NPI", "display": "National provider identifier"}
            ]
        },
        "system": NPI_SYSTEM,
        "value": npi,
    }
