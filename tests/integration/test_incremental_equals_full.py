"""Incremental silver equals a full rebuild, row for row, on a real Postgres.

Day 1: the simulator's initial EHR extract (a small population) and a third EHR (`cerner`, onboarded
through a copy of the registry) whose encounter and medication order name their practitioner by NPI
('Practitioner?identifier=<NPI system>|<npi>') before that practitioner was ever sent. dbt builds the
silver chain. Day 2: the simulator's next-day extract (new resources and newer versions of earlier
ones) and the late practitioner; dbt builds the same selection incrementally. Every incremental model
(found in dbt's manifest: config.materialized == 'incremental', fed only by the sources this test
loads) is then copied aside, rebuilt with --full-refresh, and compared with EXCEPT ALL both ways.
A further incremental build without any new load changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.ehr.registry import DEFAULT_REGISTRY_PATH, ENV_EHR_REGISTRY
from ingestion.ehr.simulator import simulate_ehr_extract
from ingestion.landing import batch_dir, batch_id_for, write_manifest
from orchestration.dbt_selection import TESTS_AFTER_ENV
from tests.conftest import scratch_database
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DAY_1, DAY_2 = date(2025, 3, 1), date(2025, 3, 2)
PATIENTS = 40
# the sources this test loads: incremental models fed by any other source are another test's
LOADED_SOURCES = {"ehr"}
SYSTEM, NPI, LATE_NPI = "cerner", "http://hl7.org/fhir/sid/us-npi", "9999974493"
PAT, ENC, ORDER, PRAC = "cerner-pat-1", "cerner-enc-1", "cerner-order-1", "cerner-prac-late"
COPIES = "incremental_copies"
CDM_FROM_ONE_RESOURCE = (
    "allergy_intolerances", "conditions", "coverages", "diagnostic_reports",
    "immunizations", "medication_requests", "observations", "procedures",
)  # fmt: skip


def _updated(day: date) -> dict[str, str]:
    return {"lastUpdated": f"{day.isoformat()}T05:00:00Z"}


CERNER_DAY_1: dict[str, list[dict[str, Any]]] = {
    "patient": [{"resourceType": "Patient", "id": PAT, "meta": _updated(DAY_1), "gender": "female",
                 "name": [{"family": "Lee", "given": ["Sam"]}], "birthDate": "1980-04-02"}],
    "encounter": [{
        "resourceType": "Encounter", "id": ENC, "meta": _updated(DAY_1), "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{PAT}"},
        "participant": [{"individual": {"reference": f"Practitioner?identifier={NPI}|{LATE_NPI}"}}],
        "period": {"start": "2025-02-28T09:00:00Z", "end": "2025-02-28T09:20:00Z"},
    }],
    "medicationrequest": [{
        "resourceType": "MedicationRequest", "id": ORDER, "meta": _updated(DAY_1), "status": "active",
        "intent": "order", "subject": {"reference": f"Patient/{PAT}"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "860975", "display": "metformin"}]},
        "requester": {"reference": f"Practitioner?identifier={NPI}|{LATE_NPI}"},
        "authoredOn": "2025-02-28T09:15:00Z",
    }],
}  # fmt: skip
CERNER_DAY_2: dict[str, list[dict[str, Any]]] = {
    "practitioner": [{"resourceType": "Practitioner", "id": PRAC, "meta": _updated(DAY_2),
                      "identifier": [{"system": NPI, "value": LATE_NPI}],
                      "name": [{"family": "Quinn", "given": ["Ada"]}]}],
}  # fmt: skip


class Warehouse:
    """The scratch warehouse, its dbt invocation and the incremental models under test."""

    def __init__(self, settings: Settings, work: Path, registry: Path) -> None:
        self.settings = settings
        self.work = work
        self.env = {**os.environ, **settings.dbt_env(), ENV_EHR_REGISTRY: str(registry)}
        self.models: list[str] = []
        self.day_1_watermark = Decimal(0)

    def dbt(self, *args: str, check: bool = True, **env: str) -> dict[str, Any]:
        dbt = Path(sys.executable).with_name("dbt")
        done = subprocess.run(
            [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "--target-path", str(self.work / "target"), "--log-path", str(self.work / "logs")],
            env={**self.env, **env}, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0 or not check, done.stdout[-4000:] + done.stderr[-2000:]
        results = self.work / "target" / "run_results.json"
        return json.loads(results.read_text(encoding="utf-8")) if args[0] != "parse" else {}

    def discover_incremental_models(self) -> None:
        self.dbt("parse")
        manifest = json.loads((self.work / "target" / "manifest.json").read_text(encoding="utf-8"))
        nodes, sources = manifest["nodes"], manifest["sources"]

        def upstream_sources(unique_id: str, seen: set[str]) -> set[str]:
            found: set[str] = set()
            for parent in (
                nodes[unique_id].get("depends_on", {}).get("nodes", []) if unique_id in nodes else []
            ):
                if parent in sources:
                    found.add(sources[parent]["source_name"])
                elif parent not in seen:
                    seen.add(parent)
                    found |= upstream_sources(parent, seen)
            return found

        incremental = [
            uid for uid, node in nodes.items()
            if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
            and node["schema"] == "silver"  # gold's incremental facts: tests/integration/test_gold_diff.py
        ]  # fmt: skip
        self.models = sorted(
            nodes[uid]["name"] for uid in incremental if upstream_sources(uid, set()) <= LOADED_SOURCES
        )

    def build(self, *extra: str) -> None:
        """The incremental models and everything upstream (seeds included), without tests."""
        self.dbt("build", "--resource-type", "model", "--resource-type", "seed",
                 "--select", *(f"+{model}" for model in self.models), *extra)  # fmt: skip

    def query(self, text: str | sql.Composable, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.settings.dsn) as conn:
            return conn.execute(text, params).fetchall()

    def copy_aside(self) -> None:
        with psycopg.connect(self.settings.dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop schema if exists {0} cascade; create schema {0}").format(sql.Identifier(COPIES))
            )
            for model in self.models:
                conn.execute(sql.SQL("create table {}.{} as select * from silver.{}").format(
                    sql.Identifier(COPIES), sql.Identifier(model), sql.Identifier(model)))  # fmt: skip

    def differences(self) -> dict[str, tuple[int, int, int]]:
        """Per model that differs from its copy: (rows only in the copy, rows only in silver, rows)."""
        differing = {}
        for model in self.models:
            copy, built = sql.Identifier(COPIES, model), sql.Identifier("silver", model)
            missing, extra, rows = self.query(sql.SQL(
                "select (select count(*) from (select * from {0} except all select * from {1}) as m),"
                " (select count(*) from (select * from {1} except all select * from {0}) as e),"
                " (select count(*) from {1})"
            ).format(copy, built))[0]  # fmt: skip
            if missing or extra:
                differing[model] = (missing, extra, rows)
        return differing


def _registry_with_cerner(folder: Path) -> Path:
    document = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))
    document["systems"].append({"name": SYSTEM, "arrives": "bulk_export", "description": "A third EHR."})
    path = folder / "ehr_systems.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _land_day(settings: Settings, day: date, cerner: dict[str, list[dict[str, Any]]]) -> None:
    simulate_ehr_extract(settings.landing_dir, extract_date=day, seed=7, patients=PATIENTS,
                         tenant=settings.tenant, env=settings.environment)  # fmt: skip
    for entity, resources in cerner.items():
        where = batch_dir(settings.landing_dir, settings.tenant, settings.environment, SYSTEM, entity,
                          batch_id_for(day))  # fmt: skip
        where.mkdir(parents=True)
        name = f"{entity}-0000.ndjson"
        (where / name).write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
        write_manifest(where, [name], {})
    assert load_ehr_to_bronze(settings).rows > 0


def _resolution(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query(
        "select 'encounter', practitioner_id, _dq_flags like '%%UNRESOLVED%%'"
        " from silver.int_encounters_deduplicated where encounter_id = %s"
        " union all select 'order', requester_practitioner_id, _dq_flags like '%%UNRESOLVED%%'"
        " from silver.int_medication_requests_deduplicated where medication_request_id = %s order by 1",
        (ENC, ORDER),
    )


@pytest.fixture(scope="module")
def warehouse(warehouse_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """Day 1 built, day 2 loaded and built incrementally, every incremental model copied aside."""
    work = tmp_path_factory.mktemp("incremental")
    with scratch_database(warehouse_settings, "scratch_incremental_equals_full", work / "home") as settings:
        registry = _registry_with_cerner(work)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(ENV_EHR_REGISTRY, str(registry))
            ensure_schemas_and_roles(settings)
            built = Warehouse(settings, work, registry)
            built.discover_incremental_models()

            _land_day(settings, DAY_1, CERNER_DAY_1)
            built.build()
            built.day_1_watermark = built.query(
                "select max(cast(load_id as numeric)) from bronze._dlt_loads"
            )[0][0]
            # the practitioner has not arrived: both references are kept, unresolved
            assert _resolution(built) == [("encounter", None, True), ("order", None, True)]

            _land_day(settings, DAY_2, CERNER_DAY_2)
            built.build()
            built.copy_aside()
            yield built


def test_the_ehr_silver_chain_is_incremental(warehouse: Warehouse) -> None:
    stems = [
        path.stem.removeprefix("stg_ehr__")
        for path in (DBT_PROJECT_DIR / "models/staging/ehr").glob("stg_ehr__*.sql")
    ]
    assert len(stems) == 14
    expected = {f"{layer}_ehr__{stem}" for stem in stems for layer in ("stg", "quarantine")}
    expected |= {f"int_{stem}_deduplicated" for stem in stems} | {"int_ehr_identifiers"}
    # the common data model of the resources read from one latest-version model each
    expected |= {f"cdm_{stem}" for stem in CDM_FROM_ONE_RESOURCE}
    assert expected <= set(warehouse.models)


def test_a_late_practitioner_resolves_earlier_references_incrementally(warehouse: Warehouse) -> None:
    assert _resolution(warehouse) == [("encounter", PRAC, False), ("order", PRAC, False)]


def test_day_two_brought_newer_versions_of_day_one_resources(warehouse: Warehouse) -> None:
    """Keys re-sent on day 2 were recomputed over both days' versions."""
    resent = sum(
        warehouse.query(
            sql.SQL(
                "select count(*) from silver.{}"
                " where versions_seen > 1 and cast(_dlt_load_id as numeric) > %s"
            ).format(sql.Identifier(model)),
            (warehouse.day_1_watermark,),
        )[0][0]
        for model in warehouse.models
        if model.endswith("_deduplicated")
    )
    assert resent > 0


def test_incremental_build_equals_full_refresh(warehouse: Warehouse) -> None:
    warehouse.build("--full-refresh")
    assert warehouse.differences() == {}


def test_an_incremental_build_without_new_loads_changes_nothing(warehouse: Warehouse) -> None:
    warehouse.build()
    assert warehouse.differences() == {}


def _failing_tests(warehouse: Warehouse, **env: str) -> list[str]:
    results = warehouse.dbt("test", "--select", "stg_ehr__encounters,test_name:not_null", check=False, **env)
    tests = [result for result in results["results"] if result["unique_id"].startswith("test.")]
    assert len(tests) >= 5
    return sorted(test["unique_id"].split(".")[2] for test in tests if test["status"] != "pass")


def test_daily_row_level_tests_read_only_the_rows_of_new_loads(warehouse: Warehouse) -> None:
    """A row broken after it was tested (here by hand) fails the full check, not a daily build's
    tests, which read loads after the step's last build (as the Dagster steps set it); a broken
    row of a new load fails both."""
    daily = {TESTS_AFTER_ENV: str(warehouse.day_1_watermark)}
    broken = "not_null_stg_ehr__encounters_period_start_at"
    assert _failing_tests(warehouse) == [] and _failing_tests(warehouse, **daily) == []
    for load in ("<=", ">"):  # a day-1 row, then a day-2 row
        ((row, started),) = warehouse.query(
            sql.SQL(
                "select ctid::text, period_start_at from silver.stg_ehr__encounters"
                " where quarantine_reason is null and cast(_dlt_load_id as numeric) {} %s limit 1"
            ).format(sql.SQL(load)),
            (warehouse.day_1_watermark,),
        )
        with psycopg.connect(warehouse.settings.dsn, autocommit=True) as conn:
            # an update moves the row: the restore finds it where the first update put it
            update = (
                "update silver.stg_ehr__encounters set period_start_at = %s where ctid = %s::tid"
                " returning ctid::text"
            )
            (row,) = conn.execute(update, (None, row)).fetchone()
            try:
                assert _failing_tests(warehouse) == [broken]
                assert _failing_tests(warehouse, **daily) == ([] if load == "<=" else [broken])
            finally:
                conn.execute(update, (started, row))
    assert _failing_tests(warehouse, **daily) == []
