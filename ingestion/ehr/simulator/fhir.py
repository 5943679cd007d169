"""FHIR R4 JSON shapes of the resources the simulated EHRs send.

Only dicts with a fixed key order are built here (no model objects: they are far too slow for
millions of lines). The shapes are checked against ``fhir.resources`` R4B models in the tests.
Coverage, PractitionerRole and DiagnosticReport are in ``fhir_extended``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestion.ehr.simulator.clock import server_stamp, wire_time
from ingestion.ehr.simulator.codes import CPT_DISPLAY, CPT_SYSTEM, ICD10_SYSTEM, icd10_display
from ingestion.ehr.simulator.facilities import Facility, Hospital
from ingestion.ehr.simulator.identifiers import (
    FACILITY_SYSTEM,
    HOSPITAL_SYSTEM,
    mr_identifier,
    npi_identifier,
    organization_npi,
    ssn_identifier,
)
from ingestion.ehr.simulator.patients import Contact, PatientProfile

Resource = dict[str, Any]

ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTICIPATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ORG_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/organization-type"
DEGREE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0360"
CLINICAL_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"

CLASS_DISPLAY = {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}
ROLE_DISPLAY = {"HOSP": "Hospital", "OF": "Outpatient facility"}
DEGREE_DISPLAY = {
    "MD": "Doctor of Medicine",
    "DO": "Doctor of Osteopathy",
    "NP": "Nurse practitioner",
    "PA": "Physician Assistant",
}
CLINICAL_DISPLAY = {"active": "Active", "resolved": "Resolved", "inactive": "Inactive"}
VERIFICATION_DISPLAY = {
    "confirmed": "Confirmed",
    "provisional": "Provisional",
    "differential": "Differential",
}


def meta_of(last_updated: datetime) -> dict[str, str]:
    return {"lastUpdated": server_stamp(last_updated)}


def reference(resource_type: str, resource_id: int) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def _work_address(street: str, city: str, state: str, postal_code: str) -> dict[str, object]:
    return {
        "use": "work",
        "type": "physical",
        "line": [street],
        "city": city,
        "state": state,
        "postalCode": postal_code,
        "country": "US",
    }


def organization(hospital: Hospital, last_updated: datetime) -> Resource:
    return {
        "resourceType": "Organization",
        "id": str(hospital.number),
        "meta": meta_of(last_updated),
        "identifier": [
            npi_identifier(organization_npi(hospital.number)),
            {"use": "secondary", "system": HOSPITAL_SYSTEM, "value": str(hospital.number)},
        ],
        "active": True,
        "type": [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": "prov", "display": "Healthcare Provider"}]}],
        "name": hospital.name,
        "telecom": [{"system": "phone", "value": hospital.phone, "use": "work"}],
        "address": [_work_address(hospital.street, hospital.city, hospital.state, hospital.postal_code)],
    }


def location(facility: Facility, last_updated: datetime) -> Resource:
    return {
        "resourceType": "Location",
        "id": str(facility.number),
        "meta": meta_of(last_updated),
        "identifier": [{"use": "secondary", "system": FACILITY_SYSTEM, "value": str(facility.number)}],
        "status": "active",
        "name": facility.name,
        "mode": "instance",
        "type": [
            {
                "coding": [
                    {
                        "system": ROLE_CODE_SYSTEM,
                        "code": facility.role,
                        "display": ROLE_DISPLAY[facility.role],
                    }
                ]
            }
        ],
        "address": _work_address(facility.street, facility.city, facility.state, facility.postal_code),
        "managingOrganization": reference("Organization", facility.hospital),
    }


@dataclass(frozen=True)
class PractitionerFacts:
    practitioner_id: int
    npi: str
    gender: str
    given: str
    family: str
    degree: str
    work_phone: str


def practitioner(facts: PractitionerFacts, last_updated: datetime) -> Resource:
    name: dict[str, object] = {"use": "official", "family": facts.family, "given": [facts.given]}
    if facts.degree in ("MD", "DO"):
        name["prefix"] = ["Dr."]
    name["suffix"] = [facts.degree]
    return {
        "resourceType": "Practitioner",
        "id": str(facts.practitioner_id),
        "meta": meta_of(last_updated),
        "identifier": [npi_identifier(facts.npi)],
        "active": True,
        "name": [name],
        "telecom": [{"system": "phone", "value": facts.work_phone, "use": "work"}],
        "gender": facts.gender,
        "qualification": [
            {
                "code": {
                    "coding": [
                        {
                            "system": DEGREE_SYSTEM,
                            "code": facts.degree,
                            "display": DEGREE_DISPLAY[facts.degree],
                        }
                    ]
                }
            }
        ],
    }


def patient(system: str, profile: PatientProfile, contact: Contact, last_updated: datetime) -> Resource:
    identifiers = [mr_identifier(system, profile.patient_id)]
    if profile.ssn is not None:
        identifiers.append(ssn_identifier(profile.ssn))
    telecom: list[dict[str, str]] = [{"system": "phone", "value": n, "use": use} for use, n in contact.phones]
    if profile.email is not None:
        telecom.append({"system": "email", "value": profile.email, "use": "home"})
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(profile.patient_id),
        "meta": meta_of(last_updated),
        "identifier": identifiers,
        "active": True,
        "name": [{"use": "official", "family": profile.family, "given": list(profile.given)}],
        "telecom": telecom,
        "gender": profile.gender,
        "birthDate": profile.birth_date.isoformat(),
        "address": [contact.address],
    }
    if profile.general_practitioner is not None:
        resource["generalPractitioner"] = [reference("Practitioner", profile.general_practitioner)]
    resource["managingOrganization"] = reference("Organization", profile.home_hospital)
    return resource


@dataclass(frozen=True)
class Visit:
    """The facts of one encounter version, independent of how a vendor serialises them."""

    encounter_id: int
    status: str
    encounter_class: str
    visit_code: str
    patient_id: int
    practitioner_id: int
    hospital: int
    location: int
    start: datetime
    end: datetime | None
    last_updated: datetime


def encounter(system: str, visit: Visit) -> Resource:
    period = {"start": wire_time(system, visit.start)}
    if visit.end is not None:
        period["end"] = wire_time(system, visit.end)
    return {
        "resourceType": "Encounter",
        "id": str(visit.encounter_id),
        "meta": meta_of(visit.last_updated),
        "status": visit.status,
        "class": {
            "system": ACT_CODE_SYSTEM,
            "code": visit.encounter_class,
            "display": CLASS_DISPLAY[visit.encounter_class],
        },
        "type": [
            {
                "coding": [
                    {"system": CPT_SYSTEM, "code": visit.visit_code, "display": CPT_DISPLAY[visit.visit_code]}
                ]
            }
        ],
        "subject": reference("Patient", visit.patient_id),
        "participant": [
            {
                "type": [
                    {"coding": [{"system": PARTICIPATION_SYSTEM, "code": "ATND", "display": "attender"}]}
                ],
                "individual": reference("Practitioner", visit.practitioner_id),
            }
        ],
        "period": period,
        "location": [{"location": reference("Location", visit.location)}],
        "serviceProvider": reference("Organization", visit.hospital),
    }


def condition(
    system: str, condition_id: int, visit: Visit, code: str, clinical_status: str, verification_status: str
) -> Resource:
    recorded = visit.end or visit.start
    return {
        "resourceType": "Condition",
        "id": str(condition_id),
        "meta": meta_of(visit.last_updated),
        "clinicalStatus": {
            "coding": [
                {
                    "system": CLINICAL_STATUS_SYSTEM,
                    "code": clinical_status,
                    "display": CLINICAL_DISPLAY[clinical_status],
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": VERIFICATION_STATUS_SYSTEM,
                    "code": verification_status,
                    "display": VERIFICATION_DISPLAY[verification_status],
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": CONDITION_CATEGORY_SYSTEM,
                        "code": "encounter-diagnosis",
                        "display": "Encounter Diagnosis",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": ICD10_SYSTEM, "code": code, "display": icd10_display(code)}]},
        "subject": reference("Patient", visit.patient_id),
        "encounter": reference("Encounter", visit.encounter_id),
        "recordedDate": wire_time(system, recorded),
        "recorder": reference("Practitioner", visit.practitioner_id),
    }


def procedure(system: str, procedure_id: int, visit: Visit, code: str, performed: datetime) -> Resource:
    return {
        "resourceType": "Procedure",
        "id": str(procedure_id),
        "meta": meta_of(visit.last_updated),
        "status": "completed",
        "code": {"coding": [{"system": CPT_SYSTEM, "code": code, "display": CPT_DISPLAY[code]}]},
        "subject": reference("Patient", visit.patient_id),
        "encounter": reference("Encounter", visit.encounter_id),
        "performedDateTime": wire_time(system, performed),
        "performer": [{"actor": reference("Practitioner", visit.practitioner_id)}],
        "location": reference("Location", visit.location),
    }
