"""FHIR R4 (US Core) JSON shapes of Observation, MedicationRequest, Immunization and AllergyIntolerance.

Plain dicts with a fixed key order, like ``fhir``; the facts come from ``observations``,
``medications``, ``immunizations`` and ``allergies``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingestion.ehr.simulator.allergies import NO_KNOWN_ALLERGY, SNOMED_SYSTEM, Allergy
from ingestion.ehr.simulator.clock import wire_time
from ingestion.ehr.simulator.fhir import Resource, Visit, meta_of, reference
from ingestion.ehr.simulator.immunizations import ACT_REASON_SYSTEM, CVX, CVX_SYSTEM, Shot
from ingestion.ehr.simulator.medications import RXNORM_SYSTEM, Order
from ingestion.ehr.simulator.observations import PULSE_OX_EXTRA, Code, Measurement
from ingestion.ehr.simulator.reports import LOINC_SYSTEM

UCUM_SYSTEM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
MEDREQ_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "laboratory": "Laboratory"}
INTERPRETATION_DISPLAY = {"H": "High", "L": "Low"}
UNIT_DISPLAY = {"/min": "/min", "Cel": "C", "mm[Hg]": "mmHg", "%": "%", "kg": "kg", "cm": "cm",
                "kg/m2": "kg/m2", "mg/dL": "mg/dL", "g/dL": "g/dL", "mmol/L": "mmol/L"}  # fmt: skip


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": UNIT_DISPLAY[unit], "system": UCUM_SYSTEM, "code": unit}


def _loinc(code: Code) -> dict[str, Any]:
    codings = [{"system": LOINC_SYSTEM, "code": code.loinc, "display": code.display}]
    if code.loinc == "59408-5":
        codings.append({"system": LOINC_SYSTEM, "code": PULSE_OX_EXTRA[0], "display": PULSE_OX_EXTRA[1]})
    return {"coding": codings, "text": code.display}


def observation(
    system: str,
    observation_id: int,
    visit: Visit,
    measurement: Measurement,
    last_updated: datetime,
    status: str = "final",
) -> Resource:
    code = measurement.code
    resource: Resource = {
        "resourceType": "Observation",
        "id": str(observation_id),
        "meta": meta_of(last_updated),
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": OBSERVATION_CATEGORY_SYSTEM,
                        "code": code.category,
                        "display": CATEGORY_DISPLAY[code.category],
                    }
                ]
            }
        ],
        "code": _loinc(code),
        "subject": reference("Patient", visit.patient_id),
        "encounter": reference("Encounter", visit.encounter_id),
        "effectiveDateTime": wire_time(system, measurement.effective),
    }
    if measurement.issued is not None:
        resource["issued"] = wire_time(system, measurement.issued)
    resource["performer"] = [reference("Practitioner", visit.practitioner_id)]
    if measurement.value is not None:
        resource["valueQuantity"] = _quantity(measurement.value, code.unit)
    flag = measurement.interpretation
    if flag is not None:
        resource["interpretation"] = [
            {
                "coding": [
                    {"system": INTERPRETATION_SYSTEM, "code": flag, "display": INTERPRETATION_DISPLAY[flag]}
                ]
            }
        ]
    if measurement.low is not None and measurement.high is not None:
        resource["referenceRange"] = [
            {"low": _quantity(measurement.low, code.unit), "high": _quantity(measurement.high, code.unit)}
        ]
    if measurement.components:
        resource["component"] = [
            {"code": _loinc(part), "valueQuantity": _quantity(value, part.unit)}
            for part, value in measurement.components
        ]
    return resource


def medication_request(
    system: str, request_id: int, visit: Visit, order: Order, last_updated: datetime
) -> Resource:
    drug = order.drug
    return {
        "resourceType": "MedicationRequest",
        "id": str(request_id),
        "meta": meta_of(last_updated),
        "status": order.status,
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": MEDREQ_CATEGORY_SYSTEM,
                        "code": "inpatient" if visit.encounter_class == "IMP" else "outpatient",
                        "display": "Inpatient" if visit.encounter_class == "IMP" else "Outpatient",
                    }
                ]
            }
        ],
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM_SYSTEM, "code": drug.rxnorm, "display": drug.display}],
            "text": drug.display,
        },
        "subject": reference("Patient", visit.patient_id),
        "encounter": reference("Encounter", visit.encounter_id),
        "authoredOn": wire_time(system, order.authored),
        "requester": reference("Practitioner", visit.practitioner_id),
        "dosageInstruction": [{"text": drug.dosage}],
    }


def immunization(
    system: str, immunization_id: int, visit: Visit, shot: Shot, last_updated: datetime
) -> Resource:
    resource: Resource = {
        "resourceType": "Immunization",
        "id": str(immunization_id),
        "meta": meta_of(last_updated),
        "status": shot.status,
    }
    if shot.reason is not None:
        code, display = shot.reason
        resource["statusReason"] = {
            "coding": [{"system": ACT_REASON_SYSTEM, "code": code, "display": display}]
        }
    resource.update(
        {
            "vaccineCode": {"coding": [{"system": CVX_SYSTEM, "code": shot.cvx, "display": CVX[shot.cvx]}]},
            "patient": reference("Patient", visit.patient_id),
            "encounter": reference("Encounter", visit.encounter_id),
            "occurrenceDateTime": wire_time(system, shot.occurred),
            "primarySource": True,
            "location": reference("Location", visit.location),
        }
    )
    if shot.status == "completed":
        resource["performer"] = [{"actor": reference("Practitioner", visit.practitioner_id)}]
    return resource


def allergy_intolerance(
    system: str, allergy_id: int, patient_id: int, allergy: Allergy, recorded: datetime
) -> Resource:
    def status(code_system: str, code: str) -> dict[str, Any]:
        return {"coding": [{"system": code_system, "code": code, "display": code.capitalize()}]}

    resource: Resource = {
        "resourceType": "AllergyIntolerance",
        "id": str(allergy_id),
        "meta": meta_of(recorded),
        "clinicalStatus": status(CLINICAL_SYSTEM, allergy.clinical_status),
        "verificationStatus": status(VERIFICATION_SYSTEM, allergy.verification_status),
    }
    allergen = allergy.allergen
    if allergen is None:
        code, display = NO_KNOWN_ALLERGY
        resource["code"] = {"coding": [{"system": SNOMED_SYSTEM, "code": code, "display": display}]}
    else:
        resource["type"] = allergy.allergy_type
        resource["category"] = [allergen.category]
        resource["criticality"] = allergy.criticality
        resource["code"] = {
            "coding": [{"system": allergen.system, "code": allergen.code, "display": allergen.display}],
            "text": allergen.display,
        }
    resource["patient"] = reference("Patient", patient_id)
    resource["recordedDate"] = wire_time(system, recorded)
    if allergy.reaction is not None:
        code, display = allergy.reaction
        resource["reaction"] = [
            {"manifestation": [{"coding": [{"system": SNOMED_SYSTEM, "code": code, "display": display}]}]}
        ]
    return resource
