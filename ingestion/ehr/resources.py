"""The FHIR resource types the EHR feed carries, shared by the simulator, the file loader and
the API loader. Entity names are the lowercase resource types: landing folders and bronze
tables (``bronze.ehr__<entity>``) are named after them."""

from __future__ import annotations

ENTITIES: tuple[str, ...] = (
    "organization",
    "location",
    "practitioner",
    "practitionerrole",
    "patient",
    "coverage",
    "encounter",
    "condition",
    "procedure",
    "diagnosticreport",
)

RESOURCE_TYPES: dict[str, str] = {
    "organization": "Organization",
    "location": "Location",
    "practitioner": "Practitioner",
    "practitionerrole": "PractitionerRole",
    "patient": "Patient",
    "coverage": "Coverage",
    "encounter": "Encounter",
    "condition": "Condition",
    "procedure": "Procedure",
    "diagnosticreport": "DiagnosticReport",
}

EHR_SYSTEMS: tuple[str, ...] = ("athena", "epic")
