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
    "observation",
    "medicationrequest",
    "immunization",
    "allergyintolerance",
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
    "observation": "Observation",
    "medicationrequest": "MedicationRequest",
    "immunization": "Immunization",
    "allergyintolerance": "AllergyIntolerance",
}

# The systems the simulators produce (the EHR simulator, the simulated FHIR API server). Loaders
# never read this: which systems carehouse loads is the EHR registry's answer
# (ingestion/ehr_systems.yaml, ingestion.ehr.registry), where these two are entries.
EHR_SYSTEMS: tuple[str, ...] = ("athena", "epic")

# What each bronze.ehr__<entity> table holds (FHIR R4 / US Core): the table's description in
# bronze's dlt schema and in Dagster. PHI marks the tables that carry direct identifiers.
DESCRIPTIONS: dict[str, str] = {
    "organization": "FHIR Organization resources: the hospitals and the departments that provide care.",
    "location": "FHIR Location resources: the sites and wards where encounters take place.",
    "practitioner": "FHIR Practitioner resources: clinicians with their NPI and name (PHI of staff).",
    "practitionerrole": "FHIR PractitionerRole resources: which practitioner works where, in which role.",
    "patient": "FHIR Patient resources (US Core): identifiers, MRN, name, birth date, address (PHI).",
    "coverage": "FHIR Coverage resources: each patient's insurance plan and payer over time.",
    "encounter": "FHIR Encounter resources: visits and stays with status, class, period and provider.",
    "condition": "FHIR Condition resources: ICD-10-CM diagnoses recorded against encounters.",
    "procedure": "FHIR Procedure resources: CPT procedures performed during encounters.",
    "diagnosticreport": "FHIR DiagnosticReport resources: reports (e.g. imaging, labs) tied to encounters.",
    "observation": "FHIR Observation resources (US Core): LOINC vital signs and laboratory results with UCUM"
    " values, reference ranges and interpretation, tied to encounters.",
    "medicationrequest": "FHIR MedicationRequest resources: RxNorm-coded medication orders written at"
    " encounters.",
    "immunization": "FHIR Immunization resources: CVX-coded vaccines given (or not given, with the reason).",
    "allergyintolerance": "FHIR AllergyIntolerance resources: SNOMED CT / RxNorm coded allergies and"
    " 'no known allergy' statements per patient.",
}
