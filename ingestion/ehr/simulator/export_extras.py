"""Resource types a US Core export carries that carehouse does not model yet, and the export's
OperationOutcome: Device (implants and home devices of patients with the matching conditions)
and DocumentReference (clinical notes of finished encounters).

They are built from the exported (already US Core styled) resources, so their references
resolve in the same export. Note texts are fixed templates: no patient-specific free text.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from random import Random

from ingestion.ehr.simulator.fhir import Resource
from ingestion.ehr.simulator.reports import LOINC_SYSTEM
from ingestion.ehr.simulator.snomed import SNOMED_SYSTEM

DOC_CATEGORY_SYSTEM = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
UDI_ISSUER = "http://hl7.org/fhir/NamingSystem/gs1-di"
# Notes are exported for a share of finished encounters (clinical notes of the period).
NOTE_SHARE = 0.25
MakeUuid = Callable[[str, str], str]  # (resource type, key) -> id
NOTE_TYPE = {
    "IMP": ("18842-5", "Discharge summary"),
    "EMER": ("34111-5", "Emergency department Note"),
    "OBSENC": ("34111-5", "Emergency department Note"),
}
PROGRESS_NOTE = ("11506-3", "Progress note")
NOTE_TEXT = {
    "18842-5": "Discharge summary. Hospital course uncomplicated. Discharged home in stable condition.",
    "34111-5": "ED note. Evaluated, treated and discharged with return precautions.",
    "11506-3": "Progress note. Assessment and plan reviewed with the patient.",
}
# (condition SNOMED CT concept, share of those patients, device type)
DEVICES_FOR_CONDITION = (
    ("49436004", 0.15, ("14106009", "Cardiac pacemaker, device (physical object)")),
    ("53741008", 0.05, ("72506001", "Implantable defibrillator, device (physical object)")),
    ("44054006", 0.3, ("337414009", "Blood glucose meter, device (physical object)")),
)


def _subject_of(resource: Resource, key: str) -> str:
    return str(resource[key]["reference"])


def devices(make_uuid: MakeUuid, seed: int, conditions: list[Resource]) -> list[Resource]:
    """Devices of patients with a matching SNOMED-coded condition: one per (patient, kind)."""
    seen: set[tuple[str, str]] = set()
    out: list[Resource] = []
    for condition in conditions:
        codes = {c["code"] for c in condition["code"]["coding"] if c["system"] == SNOMED_SYSTEM}
        patient = _subject_of(condition, "subject")
        for concept, share, (device_code, display) in DEVICES_FOR_CONDITION:
            if concept not in codes or (patient, device_code) in seen:
                continue
            seen.add((patient, device_code))
            rng = Random(f"{seed}:device:{patient}:{device_code}")
            if rng.random() >= share:
                continue
            device_id = make_uuid("Device", f"{patient}:{device_code}")
            di = f"{rng.randrange(10**13, 10**14)}"
            out.append(
                {
                    "resourceType": "Device",
                    "id": device_id,
                    "meta": condition["meta"],
                    "udiCarrier": [
                        {"deviceIdentifier": di, "issuer": UDI_ISSUER, "carrierHRF": f"(01){di}(17)290101"}
                    ],
                    "status": "active",
                    "type": {"coding": [{"system": SNOMED_SYSTEM, "code": device_code, "display": display}]},
                    "patient": {"reference": patient},
                }
            )
    return out


def document_references(make_uuid: MakeUuid, seed: int, encounters: list[Resource]) -> list[Resource]:
    """A clinical note for a share of finished encounters, authored by the attending."""
    out: list[Resource] = []
    for encounter in encounters:
        if encounter["status"] != "finished":
            continue
        rng = Random(f"{seed}:note:{encounter['id']}")
        if rng.random() >= NOTE_SHARE:
            continue
        code, display = NOTE_TYPE.get(encounter["class"]["code"], PROGRESS_NOTE)
        note = base64.b64encode(NOTE_TEXT[code].encode("utf-8")).decode("ascii")
        period = encounter["period"]
        resource: Resource = {
            "resourceType": "DocumentReference",
            "id": make_uuid("DocumentReference", encounter["id"]),
            "meta": encounter["meta"],
            "status": "current",
            "type": {"coding": [{"system": LOINC_SYSTEM, "code": code, "display": display}]},
            "category": [
                {
                    "coding": [
                        {"system": DOC_CATEGORY_SYSTEM, "code": "clinical-note", "display": "Clinical Note"}
                    ]
                }
            ],
            "subject": encounter["subject"],
            "date": period.get("end", period["start"]),
            "author": [p["individual"] for p in encounter.get("participant", [])][:1],
            "content": [{"attachment": {"contentType": "text/plain", "data": note}}],
            "context": {"encounter": [{"reference": f"Encounter/{encounter['id']}"}], "period": period},
        }
        out.append(resource)
    return out


def operation_outcomes(omitted: str, skipped: str) -> list[Resource]:
    """The export's error file: a warning for a type it skipped and an error for one resource."""
    return [
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "warning",
                    "code": "not-supported",
                    "diagnostics": f"Resource type {skipped} is not supported by this export and was skipped",
                }
            ],
        },
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "processing",
                    "diagnostics": (
                        f"1 {omitted} resource could not be serialized and was omitted from the export"
                    ),
                }
            ],
        },
    ]
