"""The Dagster code location: lineage, checks, job, schedule (no database needed)."""

from __future__ import annotations

import subprocess
import sys

from dagster import AssetKey, DefaultScheduleStatus, DefaultSensorStatus

from orchestration.definitions import defs
from orchestration.jobs import DAILY_JOB_NAME


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


def test_dagster_definitions_validate_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "orchestration.definitions"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
    rejected = graph.get(AssetKey(["silver", "int_dq_rejected_at_load"])).parent_keys
    assert rejected == {AssetKey(["bronze", "feeds__rejected_row"])}
    assert graph.get(AssetKey(["silver", "int_dq_test_outcomes"])).parent_keys == {
        AssetKey(["silver", "dq_test_results"])
    }
