"""A third EHR, never seen before, onboarded with one registry entry and one FHIR Bulk Data export.

After the scenario's three runs, the simulated third hospital (``cerner``: US Core ids, conditional
references, SNOMED-coded conditions and procedures, Device and DocumentReference files, an error
file) writes an export exactly as a Bulk Data server delivers it. ``carehouse load fhir-bulk``
stages and loads it, ``carehouse dbt build`` rebuilds silver and gold, and the tests check that
every line is accounted for per type, that the new hospital's encounters, patients and SNOMED
diagnoses reach gold, and that nothing the two other EHRs put in gold changed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestion.ehr.bronze import bronze_table
from ingestion.ehr.simulator.bulk_export import BulkExportResult, write_bulk_export
from orchestration.cli import app
from tests.e2e.conftest import DAY_2, SEED, THIRD_EHR, Scenario, query
from tests.warehouse_state import warehouse_state

pytestmark = pytest.mark.e2e

SYSTEM = THIRD_EHR["name"]
PATIENTS = 80
SNOMED = "http://snomed.info/sct"
NPI = "http://hl7.org/fhir/sid/us-npi"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"

# entity -> (staging model, intermediate model that keeps one row per resource with versions_seen)
SILVER = {
    "patient": ("stg_ehr__patients", "int_patients_deduplicated"),
    "encounter": ("stg_ehr__encounters", "int_encounters_deduplicated"),
    "condition": ("stg_ehr__conditions", "int_conditions_deduplicated"),
    "procedure": ("stg_ehr__procedures", "int_procedures_deduplicated"),
    "observation": ("stg_ehr__observations", "int_observations_deduplicated"),
    "medicationrequest": ("stg_ehr__medication_requests", "int_medication_requests_deduplicated"),
    "immunization": ("stg_ehr__immunizations", "int_immunizations_deduplicated"),
    "allergyintolerance": ("stg_ehr__allergy_intolerances", "int_allergy_intolerances_deduplicated"),
}
# Gold tables that count across every EHR: a new hospital's rows change their figures.
AGGREGATES = {
    "gold.mart_data_quality_metrics",  # counts per layer, per code system, per source
    "gold.mart_monthly_encounters",
    "gold.mart_top_diagnoses_by_age_band",
}


@dataclass
class ThirdEhr:
    export: BulkExportResult
    load_exit_code: int
    load_output: str
    build_exit_code: int
    build_output: str
    gold_before: dict[str, Counter[str]]
    gold_after: dict[str, Counter[str]]


@pytest.fixture(scope="module")
def third_ehr(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> ThirdEhr:
    settings = scenario.settings
    before = warehouse_state(settings.dsn, schemas=("gold", "review"))
    folder = tmp_path_factory.mktemp("export") / SYSTEM
    export = write_bulk_export(folder, export_date=DAY_2, system=SYSTEM, patients=PATIENTS, seed=SEED)
    runner = CliRunner()
    load = runner.invoke(app, ["load", "fhir-bulk", str(export.folder), "--system", SYSTEM])
    build = runner.invoke(app, ["dbt", "build"])
    after = warehouse_state(settings.dsn, schemas=("gold", "review"))
    return ThirdEhr(export, load.exit_code, load.output, build.exit_code, build.output, before, after)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _resources(export: BulkExportResult, resource_type: str) -> list[dict]:
    return [r for path in sorted(export.folder.glob(f"{resource_type}.*.ndjson")) for r in _lines(path)]


def test_the_export_loads_and_builds(third_ehr: ThirdEhr) -> None:
    assert third_ehr.load_exit_code == 0, third_ehr.load_output
    assert third_ehr.build_exit_code == 0, third_ehr.build_output[-3000:]
    # types silver does not model are reported, not dropped
    for entity in ("device", "documentreference", "operationoutcome"):
        assert f"bronze.ehr__{entity}: not modeled in silver yet" in third_ehr.load_output


def test_every_line_of_the_export_is_in_bronze(scenario: Scenario, third_ehr: ThirdEhr) -> None:
    manifest = json.loads(third_ehr.export.manifest.read_text())
    expected: Counter[str] = Counter()
    for entry in manifest["output"] + manifest["error"]:
        expected[entry["type"].lower()] += entry["count"]
    assert {"device", "documentreference", "operationoutcome", "observation"} <= set(expected)
    for entity, lines in expected.items():
        rows = query(
            scenario.settings,
            f"select count(*) from bronze.{bronze_table(entity)} where ehr_system = %s",
            (SYSTEM,),
        )[0][0]
        assert rows == lines, entity


def test_bronze_is_silver_plus_quarantine_per_type(scenario: Scenario, third_ehr: ThirdEhr) -> None:
    for entity, (staging, deduplicated) in SILVER.items():
        quarantine = staging.replace("stg_", "quarantine_")
        bronze, staged, quarantined, kept = query(
            scenario.settings,
            f"""
            select
                (select count(*) from bronze.{bronze_table(entity)} where ehr_system = %(s)s),
                (select count(*) from silver.{staging} where source_system = %(s)s),
                (select count(*) from silver.{quarantine} where source_system = %(s)s),
                (select sum(versions_seen) from silver.{deduplicated} where source_system = %(s)s)
            """,
            {"s": SYSTEM},
        )[0]
        assert bronze == staged == quarantined + kept > 0, entity


def test_every_finished_encounter_reaches_gold_and_the_review_sample(
    scenario: Scenario, third_ehr: ThirdEhr
) -> None:
    finished = {e["id"] for e in _resources(third_ehr.export, "Encounter") if e["status"] == "finished"}
    assert len(finished) > 50
    keys = dict(
        query(
            scenario.settings,
            "select encounter_id, encounter_key from silver.cdm_encounters"
            " where source_system = %s and is_completed",
            (SYSTEM,),
        )
    )
    assert set(keys) == finished
    in_gold = {k for (k,) in query(scenario.settings, "select encounter_key from gold.fct_encounters")}
    in_review = {k for (k,) in query(scenario.settings, "select encounter_key from review.mart_chart_review")}
    assert set(keys.values()) <= in_gold
    assert set(keys.values()) <= in_review
    systems = query(
        scenario.settings,
        "select count(*) from gold.fct_encounters where source_system = %s",
        (SYSTEM,),
    )[0][0]
    assert systems == len(finished)


def test_its_patients_are_in_dim_patient(scenario: Scenario, third_ehr: ThirdEhr) -> None:
    patients = {p["id"] for p in _resources(third_ehr.export, "Patient")}
    keys = {
        k
        for (k,) in query(
            scenario.settings,
            "select patient_key from silver.cdm_patients where source_system = %s",
            (SYSTEM,),
        )
    }
    assert len(keys) == len(patients) == PATIENTS
    in_gold = {k for (k,) in query(scenario.settings, "select patient_durable_key from gold.dim_patient")}
    assert keys <= in_gold


def test_snomed_diagnoses_are_in_the_bridge_with_their_code_system(
    scenario: Scenario, third_ehr: ThirdEhr
) -> None:
    by_system = dict(
        query(
            scenario.settings,
            """
            select bridge.code_system, count(*)
            from gold.bridge_encounter_diagnosis as bridge
            inner join gold.fct_encounters as encounters using (encounter_key)
            where encounters.source_system = %s
            group by 1
            """,
            (SYSTEM,),
        )
    )
    assert by_system.get(SNOMED, 0) > 0 and by_system.get(ICD10CM, 0) > 0, by_system
    # a SNOMED-only diagnosis has no ICD-10-CM dimension row, and is kept all the same
    snomed_keys = query(
        scenario.settings,
        "select count(*), count(diagnosis_key) from gold.bridge_encounter_diagnosis where code_system = %s",
        (SNOMED,),
    )[0]
    assert snomed_keys[0] > 0 and snomed_keys[1] == 0


def test_nothing_else_in_gold_changed(third_ehr: ThirdEhr) -> None:
    before, after = third_ehr.gold_before, third_ehr.gold_after
    changed = {}
    for table, rows in before.items():
        if table in AGGREGATES:
            continue
        gone = rows - after.get(table, Counter())
        if gone:
            changed[table] = sum(gone.values())
    assert changed == {}, changed
    grown = {table for table in after if after[table] - before.get(table, Counter())}
    assert {"gold.fct_encounters", "gold.dim_patient", "gold.bridge_encounter_diagnosis"} <= grown


def test_its_clinical_resources_reach_gold_with_conditional_references_resolved(
    scenario: Scenario, third_ehr: ThirdEhr
) -> None:
    """Every medication order names its prescriber by NPI (a conditional reference): it resolves
    when the export holds a practitioner with that NPI, and is kept, unresolved, when not."""
    npis = {
        identifier["value"]
        for practitioner in _resources(third_ehr.export, "Practitioner")
        for identifier in practitioner.get("identifier", [])
        if identifier.get("system") == NPI
    }
    resolvable = {
        order["id"]: order["requester"]["reference"].rpartition("|")[2] in npis
        for order in _resources(third_ehr.export, "MedicationRequest")
    }
    resolved = dict(
        query(
            scenario.settings,
            "select medication_request_id, requester_practitioner_id is not null"
            " from silver.cdm_medication_requests where source_system = %s",
            (SYSTEM,),
        )
    )
    assert resolved == resolvable and sum(resolvable.values()) > 0
    orders, with_provider, rxnorm, countable_resolved = query(
        scenario.settings,
        """
        select
            count(*), count(provider_key), count(*) filter (where is_rxnorm_coded),
            (select count(*) from silver.cdm_medication_requests
             where source_system = %(s)s and is_countable and requester_practitioner_id is not null)
        from gold.fct_medication_orders where source_system = %(s)s
        """,
        {"s": SYSTEM},
    )[0]
    assert orders > 0 and rxnorm == orders and with_provider == countable_resolved
    for fact in ("fct_observations", "fct_immunizations"):
        rows = query(
            scenario.settings,
            f"select count(*) from gold.{fact} as f"
            " inner join gold.dim_patient as p on p.patient_key = f.patient_key"
            " where f.source_system = %s",
            (SYSTEM,),
        )[0][0]
        assert rows > 0, fact
