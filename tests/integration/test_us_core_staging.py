"""US Core as real exports write it, through bronze and dbt on a real Postgres: a third EHR system
(`cerner`) with UUID ids, conditional Practitioner / Organization / Patient references, an
absolute literal reference, a SNOMED CT-only diagnosis and procedure and a virtual (VR) encounter.

The system is onboarded as the registry says: one extra entry in a copy of the registry. A
handful of hand-made lines land in the landing zone and go through the EHR loader
(``load_ehr_to_bronze``); dbt then builds the staging, intermediate and common models up to the
gold bridges, with their data and unit tests and the tests of their sources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest
import yaml

from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.ehr.registry import DEFAULT_REGISTRY_PATH, ENV_EHR_REGISTRY
from ingestion.landing import batch_dir, batch_id_for, write_manifest
from warehouse.keys import gold_key, keyed_hash
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
SYSTEM = "cerner"
NPI = "http://hl7.org/fhir/sid/us-npi"
ORG_IDS = "https://fhir.cerner.example/org-ids"
MRN = "urn:oid:2.16.840.1.113883.6.1000"
ICD, SNOMED, CPT = (
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://snomed.info/sct",
    "http://www.ama-assn.org/go/cpt",
)

ORG = "0f4c7d6e-6a53-4c1e-9d0e-1a2b3c4d5e6f"
LOC = "1e5d8e7f-7b64-4d2f-8e1f-2b3c4d5e6f70"
PRAC = "2f6e9f80-8c75-4e30-9f20-3c4d5e6f7081"
PAT = "3a7fa091-9d86-4f41-a031-4d5e6f708192"
ENC_VR = "4b80b1a2-ae97-4052-b142-5e6f708192a3"
ENC_AMB = "5c91c2b3-bfa8-4163-c253-6f708192a3b4"
UPDATED = {"lastUpdated": "2025-03-01T12:00:00Z"}


def _coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _encounter(id_: str, klass: str, subject: str, practitioner: str) -> dict:
    return {
        "resourceType": "Encounter", "id": id_, "meta": UPDATED, "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "type": [_coding(CPT, "99213", "Office visit")],
        "subject": {"reference": subject},
        "participant": [{"individual": {"reference": practitioner}}],
        "period": {"start": "2025-03-01T09:00:00-06:00", "end": "2025-03-01T09:20:00-06:00"},
        "serviceProvider": {"reference": f"Organization?identifier={ORG_IDS}|ORG-7"},
        "location": [{"location": {"reference": f"https://fhir.cerner.example/r4/Location/{LOC}"}}],
    }  # fmt: skip


def _condition(id_: str, encounter: str, codings: list[dict]) -> dict:
    return {
        "resourceType": "Condition", "id": id_, "meta": UPDATED,
        "subject": {"reference": f"Patient/{PAT}"}, "encounter": {"reference": f"Encounter/{encounter}"},
        "code": {"coding": codings}, "recordedDate": "2025-03-01T09:10:00-06:00",
    }  # fmt: skip


def _procedure(id_: str, encounter: str, codings: list[dict]) -> dict:
    return {
        "resourceType": "Procedure", "id": id_, "meta": UPDATED, "status": "completed",
        "subject": {"reference": f"Patient/{PAT}"}, "encounter": {"reference": f"Encounter/{encounter}"},
        "code": {"coding": codings}, "performedDateTime": "2025-03-01T09:15:00-06:00",
    }  # fmt: skip


EXPORT: dict[str, list[dict]] = {
    "organization": [{"resourceType": "Organization", "id": ORG, "meta": UPDATED, "name": "Cerner General",
                      "identifier": [{"system": ORG_IDS, "value": "ORG-7"}]}],
    "location": [{"resourceType": "Location", "id": LOC, "meta": UPDATED, "name": "Clinic 3",
                  "managingOrganization": {"reference": f"Organization?identifier={ORG_IDS}|ORG-7"}}],
    "practitioner": [{"resourceType": "Practitioner", "id": PRAC, "meta": UPDATED,
                      "identifier": [{"system": NPI, "value": "9999974493"}],
                      "name": [{"family": "Quinn", "given": ["Ada"]}]}],
    "patient": [{"resourceType": "Patient", "id": PAT, "meta": UPDATED,
                 "identifier": [{"system": MRN, "value": "MRN-1"}],
                 "name": [{"family": "Lee", "given": ["Sam"]}], "gender": "female",
                 "birthDate": "1980-04-02"}],
    "encounter": [
        # literal patient, conditional practitioner and organization, absolute location; virtual
        _encounter(ENC_VR, "VR", f"Patient/{PAT}", f"Practitioner?identifier={NPI}|9999974493"),
        # conditional patient (resolves); a practitioner NPI nobody carries (kept, flagged)
        _encounter(ENC_AMB, "AMB", f"Patient?identifier={MRN}|MRN-1",
                   f"Practitioner?identifier={NPI}|1111111111"),
    ],
    "condition": [
        _condition("6da2d3c4-c0b9-4274-d364-708192a3b4c5", ENC_VR,
                   [{"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}]),
        _condition("7eb3e4d5-d1ca-4385-e475-8192a3b4c5d6", ENC_AMB,
                   [{"system": SNOMED, "code": "38341003", "display": "Hypertensive disorder"},
                    {"system": ICD, "code": "I10", "display": "Essential (primary) hypertension"}]),
    ],
    "procedure": [
        _procedure("8fc4f5e6-e2db-4496-f586-92a3b4c5d6e7", ENC_VR,
                   [{"system": SNOMED, "code": "185317003", "display": "Telephone encounter"}]),
        _procedure("90d5a6f7-f3ec-45a7-a697-a3b4c5d6e7f8", ENC_AMB,
                   [{"system": SNOMED, "code": "185349003", "display": "Encounter for check up"},
                    {"system": CPT, "code": "99213", "display": "Office visit"}]),
    ],
}  # fmt: skip

MODELS = (
    "+bridge_encounter_diagnosis",
    "+bridge_encounter_procedure",
    "+int_dq_code_systems",
    "+int_locations_deduplicated",
)


def _registry_with_cerner(tmp_path: Path) -> Path:
    document = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))
    document["systems"].append(
        {"name": SYSTEM, "arrives": "bulk_export", "description": "A third EHR: US Core exports."}
    )
    path = tmp_path / "ehr_systems.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _land(settings: Settings) -> None:
    for entity, resources in EXPORT.items():
        where = batch_dir(settings.landing_dir, settings.tenant, settings.environment, SYSTEM, entity,
                          batch_id_for(date(2025, 3, 1)))  # fmt: skip
        where.mkdir(parents=True)
        name = f"{entity}-0000.ndjson"
        text = "".join(json.dumps(resource) + "\n" for resource in resources)
        (where / name).write_text(text, encoding="utf-8", newline="")
        write_manifest(where, [name], {})


def _query(settings: Settings, text: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(text, params).fetchall()


@pytest.fixture
def built(
    scratch_warehouse: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, dict]:
    settings = scratch_warehouse
    monkeypatch.setenv(ENV_EHR_REGISTRY, str(_registry_with_cerner(tmp_path)))
    ensure_schemas_and_roles(settings)
    _land(settings)
    loaded = load_ehr_to_bronze(settings)
    landed = {table: rows for table, rows in loaded.rows_by_table.items() if rows}
    assert landed == {f"ehr__{entity}": len(rows) for entity, rows in EXPORT.items()}

    target = tmp_path / "dbt_target"
    dbt = Path(sys.executable).with_name("dbt")
    build = subprocess.run(
        [str(dbt), "build", "--select", *MODELS, "--indirect-selection", "cautious",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(tmp_path / "dbt_logs")],
        env={**os.environ, **settings.dbt_env()}, capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:]
    return settings, json.loads((target / "run_results.json").read_text(encoding="utf-8"))


def test_us_core_export_resolves_references_and_keeps_snomed_codes(built: tuple[Settings, dict]) -> None:
    settings, results = built
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    assert all(status in {"success", "pass"} for status in statuses.values()), statuses
    ran = {uid.split(".")[-1] for uid in statuses}
    assert {"int_ehr_identifiers", "stg_ehr__encounters_parses_every_reference_form",
            "int_encounters_dedup_resolves_conditional_refs"} <= ran  # fmt: skip

    # nothing quarantined: UUID ids, conditional and absolute references are all usable
    usable = "select count(*) from silver.stg_ehr__encounters where quarantine_reason is null"
    assert _query(settings, usable) == [(2,)]

    # conditional references resolved on the referenced resources' identifiers; the unknown NPI kept, flagged
    encounters = _query(
        settings,
        "select encounter_id, patient_id, practitioner_id, organization_id, location_id, _dq_flags"
        " from silver.int_encounters_deduplicated order by encounter_id",
    )
    assert encounters == [
        (ENC_VR, PAT, PRAC, ORG, LOC,
         "CONDITIONAL_PRACTITIONER_REFERENCE|CONDITIONAL_ORGANIZATION_REFERENCE"),
        (ENC_AMB, PAT, None, ORG, LOC,
         "CONDITIONAL_PATIENT_REFERENCE|CONDITIONAL_PRACTITIONER_REFERENCE|CONDITIONAL_ORGANIZATION_REFERENCE"
         "|UNRESOLVED_PRACTITIONER_REFERENCE"),
    ]  # fmt: skip
    locations = "select managing_organization_id from silver.int_locations_deduplicated"
    assert _query(settings, locations) == [(ORG,)]

    # the virtual encounter's category comes from the encounter_classes seed
    assert _query(
        settings, "select encounter_class_code, encounter_category, is_acute_care from silver.cdm_encounters"
        " order by encounter_class_code"
    ) == [("AMB", "ambulatory", False), ("VR", "ambulatory", False)]  # fmt: skip

    # the SNOMED-only diagnosis is in the bridge with its system and a null ICD key; ICD wins when present
    key = gold_key(settings)
    diagnoses = _query(
        settings,
        "select encounter_key, code_system, code, display, diagnosis_key, diagnosis_rank"
        " from gold.bridge_encounter_diagnosis order by code",
    )
    assert diagnoses == [
        (keyed_hash(key, f"{SYSTEM}|{ENC_VR}"), SNOMED, "44054006", "Diabetes mellitus type 2", None, 1),
        (keyed_hash(key, f"{SYSTEM}|{ENC_AMB}"), ICD, "I10", "Essential (primary) hypertension",
         keyed_hash(key, "I10"), 1),
    ]  # fmt: skip
    procedures = _query(
        settings,
        "select encounter_key, code_system, code, procedure_key, procedure_quantity"
        " from gold.bridge_encounter_procedure order by code",
    )
    assert procedures == [
        (keyed_hash(key, f"{SYSTEM}|{ENC_VR}"), SNOMED, "185317003", None, 1),
        (keyed_hash(key, f"{SYSTEM}|{ENC_AMB}"), CPT, "99213", keyed_hash(key, "99213"), 1),
    ]

    # counted by code system for the data-quality mart
    assert _query(
        settings,
        "select relation_name, code_system, code_system_name, row_count, rows_without_dimension_key"
        " from silver.int_dq_code_systems order by 1, 2",
    ) == [
        ("cdm_conditions", ICD, "hl7_org_fhir_sid_icd_10_cm", 1, 0),
        ("cdm_conditions", SNOMED, "snomed_info_sct", 1, 1),
        ("cdm_procedures", SNOMED, "snomed_info_sct", 1, 1),
        ("cdm_procedures", CPT, "www_ama_assn_org_go_cpt", 1, 0),
    ]
