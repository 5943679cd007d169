"""Observation, MedicationRequest, Immunization and AllergyIntolerance from landing to gold on a
real Postgres: hand-made US Core lines (with the Patient, Encounter, Practitioner, Location and
Organization they reference) land in the landing zone, ``load_ehr_to_bronze`` takes them to
bronze, and ``dbt build`` runs the new staging, quarantine, dedup, CDM and fact models with their
data and unit tests.

Checked: LOINC codes, values, UCUM units and reference ranges reach gold.fct_observations (the
blood-pressure panel as one row per component, the abnormal flag from the interpretation or the
range), RxNorm codes reach gold.fct_medication_orders, CVX codes gold.fct_immunizations (a
not-done dose kept with its reason), allergies gold.fct_patient_allergies; retracted records stay
out of gold; each malformed line is quarantined with its reason; and per type bronze = staging =
quarantine + the usable versions the dedup model counted. References as US Core exports send them
resolve like the literal ones: a requester by NPI ('Practitioner?identifier=<NPI system>|<npi>')
keys the order to its prescriber (an unknown NPI is kept, flagged, without a provider), a
conditional patient and an absolute, versioned patient reference key the record to its patient.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest

from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.landing import batch_dir, batch_id_for, write_manifest
from warehouse.keys import gold_key, keyed_hash
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
SYSTEM = "athena"
UPDATED = "2025-03-01T18:00:00Z"
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX, SNOMED = "http://hl7.org/fhir/sid/cvx", "http://snomed.info/sct"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITALS = {"coding": [{"system": CATEGORY, "code": "vital-signs"}]}
LAB = {"coding": [{"system": CATEGORY, "code": "laboratory"}]}
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
METFORMIN = "metformin hydrochloride 500 MG Extended Release Oral Tablet"
AMLODIPINE, LISINOPRIL = "amlodipine 5 MG Oral Tablet", "lisinopril 10 MG Oral Tablet"
NPI = "http://hl7.org/fhir/sid/us-npi"
FLU = "Influenza, seasonal, injectable, preservative free"
PATIENT, ENCOUNTER = {"reference": "Patient/17"}, {"reference": "Encounter/e1"}


def _meta(updated: str = UPDATED) -> dict[str, str]:
    return {"lastUpdated": updated}


def _resource(resource_type: str, id_: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": resource_type, "id": id_, "meta": _meta(), **fields}


def _concept(system: str | None, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code, "display": display}
    return {"coding": [{k: v for k, v in coding.items() if v is not None}]}


def _ref(reference: str) -> dict[str, str]:
    return {"reference": reference}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _range(low: float, high: float, unit: str) -> list[dict[str, Any]]:
    return [{"low": _quantity(low, unit, unit), "high": _quantity(high, unit, unit)}]


def _observation(id_: str, code: str, display: str, **fields: Any) -> dict[str, Any]:
    defaults = {
        "status": "final",
        "category": [LAB],
        "code": _concept(LOINC, code, display),
        "subject": PATIENT,
        "encounter": ENCOUNTER,
        "effectiveDateTime": "2025-03-01T09:15:00-05:00",
    }
    return _resource("Observation", id_, **{**defaults, **fields})  # fmt: skip


# The world of one visit: patient 17 seen on 2025-03-01 at location l1 by practitioner 100.
CONTEXT: dict[str, list[dict[str, Any]]] = {
    "organization": [_resource("Organization", "o1", name="General Hospital")],
    "location": [
        _resource("Location", "l1", name="Main campus", managingOrganization=_ref("Organization/o1"))
    ],
    "practitioner": [
        _resource("Practitioner", "100", name=[{"family": "House", "given": ["Greg"]}],
                  identifier=[{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}])
    ],
    "practitionerrole": [
        _resource("PractitionerRole", "r1", active=True, practitioner=_ref("Practitioner/100"),
                  organization=_ref("Organization/o1"), location=[_ref("Location/l1")],
                  specialty=[_concept("http://nucc.org/provider-taxonomy", "207Q00000X", "Family Medicine")])
    ],
    "patient": [
        _resource("Patient", "17", identifier=[{"value": "MRN-17"}],
                  name=[{"family": "Doe", "given": ["Jane"]}],
                  gender="female", birthDate="1980-04-12",
                  address=[{"city": "Boston", "state": "MA", "postalCode": "02115"}])
    ],
    "coverage": [
        _resource("Coverage", "c1", status="active", type=_concept(None, "commercial"), beneficiary=PATIENT,
                  payor=[{"display": "Acme Health"}], period={"start": "2020-01-01"})
    ],
    "encounter": [
        _resource("Encounter", "e1", status="finished", **{"class": {"code": "AMB"}},
                  type=[_concept(None, "99213")], subject=PATIENT,
                  participant=[{"individual": _ref("Practitioner/100")}],
                  period={"start": "2025-03-01T09:00:00-05:00", "end": "2025-03-01T09:40:00-05:00"},
                  serviceProvider=_ref("Organization/o1"), location=[{"location": _ref("Location/l1")}])
    ],
}  # fmt: skip

GLUCOSE = ("2345-7", "Glucose [Mass/volume] in Serum or Plasma")
HEMOGLOBIN = ("718-7", "Hemoglobin [Mass/volume] in Blood")
CLINICAL: dict[str, list[dict[str, Any]]] = {
    "observation": [
        # glucose above its range, no interpretation: abnormal (high) by the range ...
        _observation("glu", *GLUCOSE, valueQuantity=_quantity(182, "mg/dL", "mg/dL"),
                     referenceRange=_range(70, 99, "mg/dL")),
        # ... re-sent later as amended with another value: the later version wins
        {**_observation("glu", *GLUCOSE, valueQuantity=_quantity(180.5, "mg/dL", "mg/dL"),
                        referenceRange=_range(70, 99, "mg/dL")),
         "status": "amended", "meta": _meta("2025-03-01T20:00:00Z")},
        # blood pressure panel: one row per component
        _observation("bp", "85354-9", "Blood pressure panel with all children optional", category=[VITALS],
                     component=[
                         {"code": _concept(LOINC, "8480-6", "Systolic blood pressure"),
                          "valueQuantity": _quantity(150, "mmHg", "mm[Hg]"),
                          "interpretation": [_concept(None, "H")]},
                         {"code": _concept(LOINC, "8462-4", "Diastolic blood pressure"),
                          "valueQuantity": _quantity(85, "mmHg", "mm[Hg]")},
                     ]),
        # heart rate, interpretation N
        _observation("hr", "8867-4", "Heart rate", category=[VITALS],
                     valueQuantity=_quantity(72, "/min", "/min"),
                     interpretation=[_concept(None, "N")]),
        # a local code first, LOINC second: LOINC is read; interpretation L decides (low)
        {**_observation("hgb", *HEMOGLOBIN, valueQuantity=_quantity(10.1, "g/dL", "g/dL"),
                        interpretation=[_concept(None, "L")], referenceRange=_range(12, 16, "g/dL")),
         "code": {"coding": [{"system": "urn:oid:1.2.3.4", "code": "HGB"},
                             _concept(LOINC, *HEMOGLOBIN)["coding"][0]]}},
        # no subject: quarantined
        {k: v for k, v in _observation("nosubj", "8310-5", "Body temperature").items() if k != "subject"},
        # entered in error: silver keeps it, gold does not
        {**_observation("eie", "8310-5", "Body temperature", valueQuantity=_quantity(37, "Cel", "Cel")),
         "status": "entered-in-error"},
    ],
    "medicationrequest": [
        _resource("MedicationRequest", "mr1", status="active", intent="order",
                  medicationCodeableConcept=_concept(RXNORM, "860975", METFORMIN), subject=PATIENT,
                  encounter=ENCOUNTER, authoredOn="2025-03-01T09:35:00-05:00",
                  requester=_ref("Practitioner/100"),
                  dosageInstruction=[{"text": "Take 1 tablet by mouth daily with dinner"}]),
        # no medication at all: quarantined
        _resource("MedicationRequest", "mr2", status="active", intent="order",
                  medicationCodeableConcept={"text": "something"}, subject=PATIENT, authoredOn="2025-03-01"),
        # the drug only by reference: kept, flagged, no code
        _resource("MedicationRequest", "mr3", status="stopped", intent="order",
                  medicationReference=_ref("Medication/m9"), subject=PATIENT, authoredOn="2025-03-01"),
        # the requester by NPI, the subject absolute and versioned: practitioner 100, patient 17
        _resource("MedicationRequest", "mr4", status="active", intent="order",
                  medicationCodeableConcept=_concept(RXNORM, "197361", AMLODIPINE),
                  subject=_ref("https://ehr.example.org/fhir/r4/Patient/17/_history/2"),
                  encounter=ENCOUNTER, authoredOn="2025-03-01T09:36:00-05:00",
                  requester=_ref(f"Practitioner?identifier={NPI}|1234567893")),
        # an NPI no practitioner carries: kept, flagged, no provider
        _resource("MedicationRequest", "mr5", status="active", intent="order",
                  medicationCodeableConcept=_concept(RXNORM, "314076", LISINOPRIL), subject=PATIENT,
                  encounter=ENCOUNTER, authoredOn="2025-03-01T09:37:00-05:00",
                  requester=_ref(f"Practitioner?identifier={NPI}|9999999991")),
    ],
    "immunization": [
        _resource("Immunization", "im1", status="completed", vaccineCode=_concept(CVX, "140", FLU),
                  patient=PATIENT, encounter=ENCOUNTER, occurrenceDateTime="2025-03-01T09:30:00-05:00"),
        # a dose not given, with the reason
        _resource("Immunization", "im2", status="not-done", statusReason=_concept(ACT_REASON, "PATOBJ"),
                  vaccineCode=_concept(CVX, "208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose"),
                  patient=PATIENT, occurrenceDateTime="2025-03-01T09:31:00-05:00"),
        # no vaccine code: quarantined
        _resource("Immunization", "im3", status="completed", patient=PATIENT,
                  occurrenceDateTime="2025-03-01"),
        # the patient by MRN, under any system: patient 17
        _resource("Immunization", "im4", status="completed",
                  vaccineCode=_concept(CVX, "150", "Influenza, injectable, quadrivalent, preservative free"),
                  patient=_ref("Patient?identifier=MRN-17"), occurrenceDateTime="2025-03-01T09:32:00-05:00"),
    ],
    "allergyintolerance": [
        _resource("AllergyIntolerance", "al1", clinicalStatus=_concept(None, "active"),
                  verificationStatus=_concept(None, "confirmed"), type="allergy", category=["medication"],
                  criticality="high", code=_concept(SNOMED, "91936005", "Allergy to penicillin"),
                  patient=PATIENT,
                  recordedDate="2025-03-01"),
        # refuted: silver only
        _resource("AllergyIntolerance", "al2", clinicalStatus=_concept(None, "inactive"),
                  verificationStatus=_concept(None, "refuted"), code=_concept(RXNORM, "7980", "penicillin G"),
                  patient=PATIENT, recordedDate="2024-11-02"),
        # another resource type in the allergy file: quarantined
        _resource("Patient", "al3"),
        # a statement that the patient has no known drug allergy, not an allergy
        _resource("AllergyIntolerance", "al4", clinicalStatus=_concept(None, "active"),
                  verificationStatus=_concept(None, "confirmed"),
                  code=_concept(SNOMED, "409137002", "No known drug allergy"), patient=PATIENT,
                  recordedDate="2025-03-01"),
    ],
}  # fmt: skip


class Expected(NamedTuple):
    """Per type: its silver models, bronze lines, quarantined lines by reason, usable resources."""

    staging: str
    quarantine: str
    dedup: str
    lines: int
    reasons: dict[str, int]
    resources: int


EXPECTED = {
    "observation": Expected("stg_ehr__observations", "quarantine_ehr__observations",
                            "int_observations_deduplicated", 7, {"missing_patient_reference": 1}, 5),
    "medicationrequest": Expected("stg_ehr__medication_requests", "quarantine_ehr__medication_requests",
                                  "int_medication_requests_deduplicated", 5, {"missing_medication": 1}, 4),
    "immunization": Expected("stg_ehr__immunizations", "quarantine_ehr__immunizations",
                             "int_immunizations_deduplicated", 4, {"missing_code": 1}, 3),
    "allergyintolerance": Expected("stg_ehr__allergy_intolerances", "quarantine_ehr__allergy_intolerances",
                                   "int_allergy_intolerances_deduplicated", 4, {"wrong_resource_type": 1}, 3),
}  # fmt: skip
FACTS = ("fct_observations", "fct_medication_orders", "fct_immunizations", "fct_patient_allergies")


def _land(settings: Settings, entity: str, resources: list[dict[str, Any]]) -> None:
    where = batch_dir(
        settings.landing_dir,
        settings.tenant,
        settings.environment,
        SYSTEM,
        entity,
        batch_id_for(date(2025, 3, 2)),
    )
    where.mkdir(parents=True)
    name = f"{entity}.ndjson"
    (where / name).write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    write_manifest(where, [name], {})


def _query(settings: Settings, text: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(text, params).fetchall()


@pytest.fixture
def gold(scratch_warehouse: Settings, tmp_path: Path) -> tuple[Settings, dict]:
    """The scratch warehouse after the load and the dbt build; returns it with dbt's run results."""
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    for entity, resources in {**CONTEXT, **CLINICAL}.items():
        _land(settings, entity, resources)
    loaded = load_ehr_to_bronze(settings)
    assert {table: loaded.rows_by_table.get(f"ehr__{table}") for table in EXPECTED} == {
        table: expected.lines for table, expected in EXPECTED.items()
    }

    target = tmp_path / "dbt_target"
    dbt = Path(sys.executable).with_name("dbt")
    # the facts, the dimensions their relationships tests read, and the quarantine models and
    # bronze sources the reconciliation tests read (so that those tests are buildable)
    selection = [f"+{fact}+" for fact in FACTS] + ["+dim_date", "+dim_facility", "+dim_provider"]
    selection += [f"source:ehr.ehr__{entity}" for entity in EXPECTED]
    selection += [expected.quarantine for expected in EXPECTED.values()]
    build = subprocess.run(
        [
            str(dbt),
            "build",
            "--select",
            *selection,
            "--indirect-selection",
            "buildable",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "dbt_logs"),
        ],
        env={**os.environ, **settings.dbt_env()},
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-6000:]
    return settings, json.loads((target / "run_results.json").read_text(encoding="utf-8"))


def test_clinical_resources_reach_gold_and_reconcile_per_type(gold: tuple[Settings, dict]) -> None:
    settings, results = gold
    key = lambda natural: keyed_hash(gold_key(settings), natural)  # noqa: E731

    # every node built and every data / unit test passed, the new ones among them
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    assert all(status in {"success", "pass"} for status in statuses.values()), statuses
    ran = {uid.split(".")[-1] for uid in statuses}
    assert set(FACTS) <= ran
    assert {
        "stg_ehr__observations_parses_values_ranges_and_panels",
        "stg_ehr__medication_requests_parses_and_quarantines",
        "stg_ehr__immunizations_keeps_a_not_done_dose",
        "stg_ehr__allergy_intolerances_parses_and_quarantines",
        "cdm_observations_components_and_abnormal_flag",
        "int_medication_requests_dedup_resolves_conditional_refs",
    } <= ran
    assert sum(uid.startswith("test.carehouse.reconciles_with_bronze") for uid in statuses) >= len(EXPECTED)

    # per type: bronze = staging = quarantine + every usable version the dedup model counted
    for entity, (staging, quarantine, dedup, lines, reasons, resources) in EXPECTED.items():
        [(bronze, staged, held, seen, current)] = _query(
            settings,
            f"select (select count(*) from bronze.ehr__{entity}), (select count(*) from silver.{staging}),"
            f" (select count(*) from silver.{quarantine}), (select sum(versions_seen) from silver.{dedup}),"
            f" (select count(*) from silver.{dedup})",
        )
        expected = (lines, lines, sum(reasons.values()), lines - held, resources)
        assert (bronze, staged, held, seen, current) == expected
        assert (
            dict(_query(settings, f"select quarantine_reason, count(*) from silver.{quarantine} group by 1"))
            == reasons
        )

    patient, encounter, facility = key("athena|17"), key("athena|e1"), key("athena|l1")
    [(patient_version,)] = _query(settings, "select patient_key from gold.dim_patient where is_current")

    observations = _query(
        settings,
        "select observation_code, panel_code, category_code, observation_status, value_numeric, value_unit,"
        " value_unit_code, reference_range_low, reference_range_high, interpretation_code, is_abnormal,"
        " abnormal_direction, abnormal_flag_source, effective_date_key,"
        " patient_key = %s, patient_durable_key = %s, encounter_key = %s, facility_key = %s"
        " from gold.fct_observations order by observation_code",
        (patient_version, patient, encounter, facility),
    )
    keys_ok = (True, True, True, True)
    d = Decimal
    assert observations == [
        ("2345-7", None, "laboratory", "amended", d("180.5"), "mg/dL", "mg/dL", d(70), d(99), None, True,
         "high", "reference_range", 20250301, *keys_ok),
        ("718-7", None, "laboratory", "final", d("10.1"), "g/dL", "g/dL", d(12), d(16), "L", True, "low",
         "interpretation", 20250301, *keys_ok),
        ("8462-4", "85354-9", "vital-signs", "final", d(85), "mmHg", "mm[Hg]", None, None, None, None, None,
         None, 20250301, *keys_ok),
        ("8480-6", "85354-9", "vital-signs", "final", d(150), "mmHg", "mm[Hg]", None, None, "H", True, "high",
         "interpretation", 20250301, *keys_ok),
        ("8867-4", None, "vital-signs", "final", d(72), "/min", "/min", None, None, "N", False, None,
         "interpretation", 20250301, *keys_ok),
    ]  # fmt: skip
    # the two components of the panel share the resource key, never the row key
    assert _query(
        settings,
        "select count(distinct observation_key), count(distinct observation_resource_key)"
        " from gold.fct_observations where panel_code = '85354-9'",
    ) == [(2, 1)]

    orders = _query(
        settings,
        "select medication_code_system, medication_code, medication_display, order_status, order_intent,"
        " authored_date_key, is_rxnorm_coded, practitioner_key, provider_key is not null, encounter_key,"
        " facility_key, dq_flags from gold.fct_medication_orders order by medication_code nulls last",
    )
    order_patients = _query(settings, "select distinct patient_durable_key from gold.fct_medication_orders")
    assert order_patients == [(patient,)]
    assert orders == [
        (RXNORM, "197361", AMLODIPINE, "active", "order", 20250301, True, key("athena|100"), True, encounter,
         facility, "CONDITIONAL_REQUESTER_REFERENCE"),
        (RXNORM, "314076", LISINOPRIL, "active", "order", 20250301, True, None, False, encounter, facility,
         "CONDITIONAL_REQUESTER_REFERENCE|UNRESOLVED_REQUESTER_REFERENCE"),
        (RXNORM, "860975", METFORMIN, "active", "order", 20250301, True, key("athena|100"), True, encounter,
         facility, None),
        (None, None, None, "stopped", "order", 20250301, False, None, False, None, None,
         "MEDICATION_BY_REFERENCE_ONLY"),
    ]  # fmt: skip

    immunizations = _query(
        settings,
        "select vaccine_code_system, vaccine_code, immunization_status, is_administered, status_reason_code,"
        " occurrence_date_key, age_band_at_vaccination, patient_durable_key, encounter_key"
        " from gold.fct_immunizations order by vaccine_code",
    )
    assert immunizations == [
        (CVX, "140", "completed", True, None, 20250301, "31-50", patient, encounter),
        (CVX, "150", "completed", True, None, 20250301, "31-50", patient, None),
        (CVX, "208", "not-done", False, "PATOBJ", 20250301, "31-50", patient, None),
    ]

    allergies = _query(
        settings,
        "select code_system, allergy_code, allergy_display, allergy_type, allergy_category, criticality,"
        " clinical_status_code, verification_status_code, is_active, is_no_known_allergy, recorded_date_key,"
        " patient_durable_key from gold.fct_patient_allergies order by allergy_code",
    )
    assert allergies == [
        (SNOMED, "409137002", "No known drug allergy", None, None, None, "active", "confirmed", True, True,
         20250301, patient),
        (SNOMED, "91936005", "Allergy to penicillin", "allergy", "medication", "high", "active", "confirmed",
         True, False, 20250301, patient),
    ]  # fmt: skip

    # retracted records are in silver, never in gold; free text and source ids stay in silver
    assert _query(
        settings,
        "select (select count(*) from silver.cdm_observations where not is_countable),"
        " (select count(*) from silver.cdm_allergy_intolerances where not is_countable)",
    ) == [(1, 1)]
    gold_columns = {
        column
        for (column,) in _query(
            settings,
            "select column_name from information_schema.columns where table_schema = 'gold'"
            f" and table_name in ({', '.join(repr(f) for f in FACTS)})",
        )
    }
    assert not {c for c in gold_columns if c.endswith("_id") or c in {"dosage_text", "components"}}
