"""Gold's incremental facts (incremental_strategy 'diff', dbt_project/macros/incremental/
diff_strategy.sql), on the scenario's warehouse after day 2: an incremental build puts back any
row that differs from what the model computes (changed, missing or extra) in place, without
rebuilding the table, and day 1 + day 2 built incrementally equal a full refresh, row for row."""

from __future__ import annotations

import json

import psycopg
import pytest

from orchestration.dbt_project import ensure_manifest
from tests.e2e.conftest import Scenario
from tests.faults import run_cli
from tests.warehouse_state import differences, warehouse_state

pytestmark = pytest.mark.e2e


def diff_models() -> list[str]:
    nodes = json.loads(ensure_manifest().read_text(encoding="utf-8"))["nodes"].values()
    return sorted(
        node["name"]
        for node in nodes
        if node["resource_type"] == "model"
        and node["config"]["materialized"] == "incremental"
        and node["config"].get("incremental_strategy") == "diff"
    )


def _table_ids(conn: psycopg.Connection, models: list[str]) -> dict[str, int]:
    rows = conn.execute(
        "select relname, oid::bigint from pg_class"
        " where relnamespace = 'gold'::regnamespace and relname = any(%s)",
        (models,),
    )
    return dict(rows.fetchall())


def _dbt_run(scenario: Scenario, models: list[str], *extra: str) -> None:
    done = run_cli(scenario.settings, "dbt", "run", "--select", *models, *extra)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_gold_facts_are_incremental_and_equal_a_full_refresh(scenario: Scenario) -> None:
    models = diff_models()
    assert {"fct_encounters", "fct_transactions", "fct_claims", "fct_observations", "mart_risk_tiers"} <= set(
        models
    )
    dsn = scenario.settings.dsn
    after_day_2 = warehouse_state(dsn, ["gold"])
    assert all(sum(after_day_2[f"gold.{m}"].values()) > 1 for m in ("fct_encounters", "fct_observations"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = _table_ids(conn, models)
        # a row changed, a row lost and a row that should not be there
        conn.execute(
            "update gold.fct_encounters set num_diagnoses = num_diagnoses + 7"
            " where encounter_key = (select min(encounter_key) from gold.fct_encounters)"
        )
        conn.execute(
            "delete from gold.fct_transactions"
            " where transaction_key = (select max(transaction_key) from gold.fct_transactions)"
        )
        conn.execute("create temporary table stray as select * from gold.fct_observations limit 1")
        conn.execute("update stray set observation_key = 'not-a-key'")
        conn.execute("insert into gold.fct_observations select * from stray")
    assert set(differences(after_day_2, warehouse_state(dsn, ["gold"]))) == {
        "gold.fct_encounters",
        "gold.fct_transactions",
        "gold.fct_observations",
    }

    _dbt_run(scenario, models)
    assert differences(after_day_2, warehouse_state(dsn, ["gold"])) == {}
    with psycopg.connect(dsn) as conn:
        assert _table_ids(conn, models) == before  # the same tables, written in place

    _dbt_run(scenario, models, "--full-refresh")
    assert differences(after_day_2, warehouse_state(dsn, ["gold"])) == {}
    with psycopg.connect(dsn) as conn:
        assert _table_ids(conn, models) != before  # rebuilt
