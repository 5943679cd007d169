"""The Dagster code location: lineage, checks, job, schedule (no database needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from dagster import AssetKey, DefaultScheduleStatus, DefaultSensorStatus, TableSchema, build_schedule_context

from orchestration.assets.owners import ANALYTICS_ENGINEERING, DATA_ENGINEERING
from orchestration.dbt_selection import FULL_CHECK_TAG
from orchestration.definitions import defs
from orchestration.jobs import DAILY_JOB_NAME

REPO_ROOT = Path(__file__).resolve().parents[2]


def _asset_graph():
    return defs.resolve_asset_graph()


def test_lineage_runs_from_dlt_into_dbt_with_no_placeholder_assets() -> None:
    graph = _asset_graph()
    bronze_encounter = AssetKey(["bronze", "ehr__encounter"])
    assert graph.has(bronze_encounter)
    node = graph.get(bronze_encounter)
    assert node.is_materializable, "bronze tables must be the dlt assets, not dbt source placeholders"
    assert AssetKey(["landing", "ehr_extract"]) in node.parent_keys
    # every asset in the graph is materialised by this code location: no external stand-ins
    external = [
        key.to_user_string() for key in graph.get_all_asset_keys() if not graph.get(key).is_materializable
    ]
    assert external == []
    # bronze feeds silver, silver feeds gold and the review mart
    downstream = graph.get(AssetKey(["silver", "stg_ehr__encounters"]))
    assert bronze_encounter in downstream.parent_keys
    assert graph.has(AssetKey(["gold", "fct_encounters"]))
    assert graph.has(AssetKey(["review", "mart_chart_review"]))


def test_the_ehr_load_lands_the_registry_and_every_unmodeled_resource_type_as_assets() -> None:
    """One dlt asset per modeled type, one for every other type, one for the EHR registry that
    dbt's ehr_system tests read (so the source is no placeholder)."""
    graph = _asset_graph()
    others, systems = AssetKey(["bronze", "ehr__other_resources"]), AssetKey(["bronze", "ehr__systems"])
    assert graph.get(others).is_materializable and graph.get(systems).is_materializable
    assert "does not model yet" in graph.get(others).description
    assert AssetKey(["landing", "ehr_extract"]) in graph.get(others).parent_keys
    columns = {c.name for c in graph.get(systems).metadata["dagster/column_schema"].columns}
    assert {"name", "arrives", "description", "code_systems"} <= columns
    checks = {(check.asset_key, check.name) for check in graph.asset_check_keys}
    assert (systems, "source_unique_ehr_ehr__systems_name") in checks
    # silver accepts exactly the registered systems: a relationship, no list of names
    encounters = AssetKey(["silver", "stg_ehr__encounters"])
    assert (
        encounters,
        "relationships_stg_ehr__encounters_source_system__name__source_ehr_ehr__systems_",
    ) in checks
    ehr_checks = [name for key, name in checks if "ehr" in key.path[-1] or key.path[-1] == "fct_encounters"]
    assert ehr_checks and not any("athena" in name for name in ehr_checks)


def test_quality_checks_guard_bronze_and_silver() -> None:
    graph = _asset_graph()
    checks = {key for key in graph.asset_check_keys}
    gx_checks = {c for c in checks if c.name.startswith("gx_")}
    assert {c.asset_key.path[0] for c in gx_checks} >= {"bronze", "silver"}
    assert all(graph.get_check_spec(c).blocking for c in gx_checks)
    # dbt tests become asset checks too
    assert any(c.asset_key == AssetKey(["review", "mart_chart_review"]) for c in checks)


def test_daily_job_schedule_and_retry_policy() -> None:
    job = defs.resolve_job_def(DAILY_JOB_NAME)
    schedule = defs.resolve_schedule_def("daily_pipeline_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING  # on without a click in the UI
    policy = job.op_retry_policy
    assert policy is not None and (policy.max_retries, policy.delay) == (1, 120)


def test_sensors_run_by_default() -> None:
    sensors = ("adt_stream_sensor", "housekeeping_sensor")
    for name in (*sensors, "run_failure_alert_sensor", "blocking_check_alert_sensor"):
        assert defs.resolve_sensor_def(name).default_status == DefaultSensorStatus.RUNNING, name


def test_dagster_finds_the_code_location_with_no_flags_and_no_database(tmp_path: Path) -> None:
    """pyproject's [tool.dagster] names the module; loading the definitions never connects
    (CAREHOUSE_DSN points at a port nothing listens on, so a connection attempt would fail)."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "CAREHOUSE_DSN": "postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "code location carehouse" in result.stdout + result.stderr


def test_every_asset_has_an_owner_and_every_check_a_description() -> None:
    graph = _asset_graph()
    unowned = [key.to_user_string() for key in graph.get_all_asset_keys() if not graph.get(key).owners]
    assert unowned == []
    assert graph.get(AssetKey(["bronze", "ehr__encounter"])).owners == [DATA_ENGINEERING]
    assert graph.get(AssetKey(["landing", "ehr_extract"])).owners == [DATA_ENGINEERING]
    assert graph.get(AssetKey(["gold", "fct_encounters"])).owners == [ANALYTICS_ENGINEERING]
    checks = graph.asset_check_keys
    blank = [key.to_user_string() for key in checks if not graph.get_check_spec(key).description]
    assert blank == []
    # generated from the test, the singular test's SQL banner, the GX suite, the landing check
    described = {key.name: graph.get_check_spec(key).description for key in graph.asset_check_keys}
    assert described["not_null_dim_patient_patient_key"] == (
        "dbt test not_null on column patient_key of model dim_patient"
    )
    assert "describe the same encounters" in described["assert_chart_review_covers_every_completed_encounter"]
    assert described["gx_silver_transactions"].startswith("GX: usable transactions only")
    assert "manifest" in described["landing_batches_match_their_manifests"]


def test_every_bronze_asset_has_its_own_description_and_a_column_schema() -> None:
    graph = _asset_graph()
    bronze = [key for key in graph.get_all_asset_keys() if key.path[0] == "bronze"]
    descriptions = {key: graph.get(key).description for key in bronze}
    assert all(descriptions.values())
    assert len(set(descriptions.values())) == len(bronze), "one description per table, not a generic one"
    for key in bronze:
        schema = graph.get(key).metadata.get("dagster/column_schema")
        assert isinstance(schema, TableSchema) and schema.columns, key.to_user_string()
    encounter = graph.get(AssetKey(["bronze", "ehr__encounter"]))
    assert "Encounter" in encounter.description
    columns = {c.name: c for c in encounter.metadata["dagster/column_schema"].columns}
    assert columns["resource"].type == "json" and not columns["resource"].constraints.nullable
    assert "line_number" in columns and "error" not in columns  # the rejected-line table's columns stay there
    claims = graph.get(AssetKey(["bronze", "claims__claim_lines"]))
    assert claims.description.startswith("Payer claim files")  # from the load config's tables:


def test_every_gold_table_traces_back_to_a_dlt_asset() -> None:
    graph = _asset_graph()
    dlt_keys = {key for key in graph.get_all_asset_keys() if key.path[0] == "bronze"}
    assert AssetKey(["bronze", "reference__icd10_cm"]) in dlt_keys
    for key in graph.get_all_asset_keys():
        if key.path[0] not in {"gold", "review"}:
            continue
        ancestors, frontier = set(), [key]
        while frontier:
            for parent in graph.get(frontier.pop()).parent_keys:
                if parent not in ancestors:
                    ancestors.add(parent)
                    frontier.append(parent)
        built_from_seeds_only = all(graph.get(a).parent_keys == set() for a in ancestors)
        assert ancestors & dlt_keys or built_from_seeds_only, f"{key.to_user_string()} has no bronze ancestor"


def test_population_health_marts_are_assets_with_checks_fed_by_the_payer_files() -> None:
    graph = _asset_graph()
    checks_by_asset: dict[AssetKey, set[str]] = {}
    for check in graph.asset_check_keys:
        checks_by_asset.setdefault(check.asset_key, set()).add(check.name)
    marts = (
        "fct_pharmacy_fills",
        "fct_member_months",
        "mart_medication_adherence",
        "mart_pmpm_cost_by_payer_month",
        "mart_prescribing_patterns",
        "mart_risk_tiers",
        "mart_readmission_rate_by_month",
        "mart_patient_chronic_conditions",
    )
    for mart in marts:
        key = AssetKey(["gold", mart])
        assert graph.has(key), mart
        assert checks_by_asset.get(key), f"{mart} has no asset checks"
    # the payers' files reach the marts through their dlt assets
    bronze = {AssetKey(["bronze", "pharmacy__fills"]), AssetKey(["bronze", "eligibility__member_months"])}
    assert all(graph.get(key).is_materializable for key in bronze)
    ancestors, frontier = set(), [AssetKey(["gold", "mart_pmpm_cost_by_payer_month"])]
    while frontier:
        for parent in graph.get(frontier.pop()).parent_keys - ancestors:
            ancestors.add(parent)
            frontier.append(parent)
    assert bronze <= ancestors


def test_data_quality_mart_is_an_asset_with_checks_and_real_lineage() -> None:
    graph = _asset_graph()
    mart = AssetKey(["gold", "mart_data_quality_metrics"])
    assert graph.has(mart)
    assert any(check.asset_key == mart for check in graph.asset_check_keys), "dbt tests become checks"
    parts = {
        AssetKey(["silver", name])
        for name in (
            "int_dq_layer_row_counts",
            "int_dq_quarantine_by_reason",
            "int_dq_rejected_at_load",
            "int_dq_flags_by_rule",
            "int_dq_landing_batches",
            "int_dq_unmodeled_resources",
            "int_dq_unresolved_references",
            "int_dq_code_systems",
            "int_dq_source_freshness",
            "int_dq_test_outcomes",
        )
    }
    assert graph.get(mart).parent_keys == parts
    # the landing audit is the asset that verifies batches before every loader
    landing = AssetKey(["bronze", "landing__batches"])
    assert graph.get(AssetKey(["silver", "int_dq_landing_batches"])).parent_keys == {landing}
    assert graph.get(landing).is_materializable
    assert landing in graph.get(AssetKey(["bronze", "ehr__encounter"])).parent_keys
    # the measured tables are parents of the measurements: bronze, staging, quarantine, intermediate
    counts = graph.get(AssetKey(["silver", "int_dq_layer_row_counts"])).parent_keys
    assert {
        AssetKey(["bronze", "ehr__encounter"]),
        AssetKey(["silver", "stg_ehr__encounters"]),
        AssetKey(["silver", "quarantine_ehr__encounters"]),
        AssetKey(["silver", "int_encounters_deduplicated"]),
    } <= counts
    # the registry says where the file log lives; the file log itself is a table variant (no asset)
    unmodeled = graph.get(AssetKey(["silver", "int_dq_unmodeled_resources"])).parent_keys
    assert unmodeled == {AssetKey(["bronze", "ehr__systems"])}
    rejected = graph.get(AssetKey(["silver", "int_dq_rejected_at_load"])).parent_keys
    assert rejected == {AssetKey(["bronze", "feeds__rejected_row"])}
    assert graph.get(AssetKey(["silver", "int_dq_test_outcomes"])).parent_keys == {
        AssetKey(["silver", "dq_test_results"])
    }


def test_sundays_scheduled_run_is_the_full_check() -> None:
    schedule = defs.resolve_schedule_def("daily_pipeline_schedule")
    saturday, sunday = datetime(2025, 3, 1, 6, tzinfo=UTC), datetime(2025, 3, 2, 6, tzinfo=UTC)
    weekday = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=saturday))
    full = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=sunday))
    assert [request.tags.get(FULL_CHECK_TAG) for request in weekday.run_requests] == [None]
    assert [request.tags.get(FULL_CHECK_TAG) for request in full.run_requests] == ["true"]
    assert full.run_requests[0].run_key == "2025-03-02"
