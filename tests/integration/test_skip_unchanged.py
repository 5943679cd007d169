"""Skip what did not change, on a real warehouse and real Dagster runs: a second run of the same
day with nothing new rebuilds no dbt model and leaves every table as it was; new rows in one
source (ADT micro-batches) rebuild the dbt steps they reach, gold included."""

from __future__ import annotations

from datetime import date

import pytest
from dagster import AssetKey, DagsterEventType

from ingestion.adt.simulator import follow
from orchestration.instance import carehouse_instance
from orchestration.runner import run_daily_pipeline
from tests.warehouse_state import warehouse_state
from warehouse.settings import Settings

DAY = date(2025, 3, 1)
PATIENTS = 20
SEED = 5
DBT_STEPS = {"dbt_silver", "dbt_snapshots", "dbt_gold"}


def _dbt_materializations(settings: Settings, run_id: str) -> tuple[set[AssetKey], set[AssetKey]]:
    """(rebuilt, reported unchanged) asset keys of the run's dbt steps; fails on a skipped step."""
    rebuilt: set[AssetKey] = set()
    unchanged: set[AssetKey] = set()
    records = carehouse_instance(settings).get_records_for_run(run_id, limit=None).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        assert event.event_type != DagsterEventType.STEP_SKIPPED, f"{event.step_key} was skipped"
        if event.event_type != DagsterEventType.ASSET_MATERIALIZATION or event.step_key not in DBT_STEPS:
            continue
        materialization = event.event_specific_data.materialization
        is_unchanged = "carehouse/rebuilt" in materialization.metadata
        (unchanged if is_unchanged else rebuilt).add(materialization.asset_key)
    return rebuilt, unchanged


def _test_scopes(settings: Settings, run_id: str) -> dict[str, str]:
    """What each dbt step of the run said its row-level tests read."""
    scopes = {}
    for record in carehouse_instance(settings).get_records_for_run(run_id, limit=None).records:
        entry = record.event_log_entry
        if entry.step_key in DBT_STEPS and "row-level tests read" in entry.user_message:
            scopes[entry.step_key] = entry.user_message.split("row-level tests read ", 1)[1]
    return scopes


def _run(settings: Settings, full_check: bool = False) -> tuple[set[AssetKey], set[AssetKey], dict[str, str]]:
    """(rebuilt, reported unchanged, test scope per dbt step) of a run of the day."""
    outcome = run_daily_pipeline(DAY, seed=SEED, patients=PATIENTS, settings=settings, full_check=full_check)
    assert outcome.success, outcome.failed_steps
    return *_dbt_materializations(settings, outcome.run_id), _test_scopes(settings, outcome.run_id)


@pytest.mark.slow
def test_a_run_rebuilds_a_dbt_step_only_when_new_rows_reach_it(warehouse: Settings) -> None:
    built, _, scopes = _run(warehouse)
    assert AssetKey(["gold", "fct_patient_flow"]) in built
    assert scopes == dict.fromkeys(DBT_STEPS, "every row")  # nothing was built before
    before = warehouse_state(warehouse.dsn)

    rebuilt, unchanged, _ = _run(warehouse)  # the same day again: no source has new rows
    assert rebuilt == set()
    assert unchanged == built  # reported up to date, so that nothing downstream is skipped
    assert warehouse_state(warehouse.dsn) == before

    # new ADT micro-batches, and nothing else
    follow(
        warehouse.landing_dir,
        events_per_second=50,
        max_events=10,
        duration_s=3,
        seed=SEED,
        tenant=warehouse.tenant,
        env=warehouse.environment,
    )
    rebuilt, unchanged, scopes = _run(warehouse)
    # a step with new rows upstream builds all of its models (dbt would drop the tests of a model
    # with a parent left out); a step with none upstream is reported unchanged
    assert AssetKey(["gold", "fct_patient_flow"]) in rebuilt
    assert AssetKey(["silver", "stg_ehr__encounters"]) in rebuilt  # same step as stg_adt__events
    assert rebuilt | unchanged == built and not rebuilt & unchanged
    # the new rows' build tests the rows of loads after the silver step's last build only
    assert scopes["dbt_silver"].startswith("loads after ")

    # the weekly full check builds every node of every step and tests every row
    rebuilt, unchanged, scopes = _run(warehouse, full_check=True)
    assert rebuilt == built and unchanged == set()
    assert scopes == dict.fromkeys(DBT_STEPS, "every row")
