"""Gold for analysts and cheaper builds, on the scenario's warehouse: every fact and bridge has
btree indexes on its foreign and date keys, no constraint or index is named after dbt's temporary
relation, every table was analyzed by its build; production builds run no unit test, and the
unit tests pass when the test suite runs them (here, once)."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.e2e.conftest import Scenario
from tests.faults import run_cli
from warehouse.settings import Settings

pytestmark = pytest.mark.e2e

BUILT_SCHEMAS = ("silver", "snapshots", "gold", "review")


def unindexed_keys(dsn: str) -> dict[str, list[str]]:
    """``gold.<fact or bridge>`` -> its ``*_key`` columns that no btree index leads with (the
    primary key's leading column is indexed by the primary key)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            select c.relname, a.attname,
                exists (
                    select 1 from pg_index i
                    join pg_class ic on ic.oid = i.indexrelid
                    join pg_am am on am.oid = ic.relam
                    where i.indrelid = c.oid and i.indkey[0] = a.attnum and am.amname = 'btree'
                )
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where n.nspname = 'gold' and c.relkind = 'r'
                and (c.relname like 'fct\\_%' or c.relname like 'bridge\\_%')
                and a.attname like '%\\_key'
            """
        ).fetchall()
    gaps: dict[str, list[str]] = {f"gold.{table}": [] for table, _, _ in rows}
    for table, column, indexed in rows:
        if not indexed:
            gaps[f"gold.{table}"].append(column)
    return gaps


def temporary_names(dsn: str) -> list[str]:
    """Constraints and indexes in gold and review named after dbt's ``__dbt_tmp`` relation."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            select n.nspname || '.' || con.conname from pg_constraint con
            join pg_namespace n on n.oid = con.connamespace
            where n.nspname in ('gold', 'review') and con.conname like '%\\_\\_dbt\\_tmp%'
            union all
            select schemaname || '.' || indexname from pg_indexes
            where schemaname in ('gold', 'review') and indexname like '%\\_\\_dbt\\_tmp%'
            """
        ).fetchall()
    return sorted(name for (name,) in rows)


def never_analyzed(dsn: str) -> list[str]:
    """Tables dbt built (silver, snapshots, gold, review) that no ANALYZE ran on."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select schemaname || '.' || relname from pg_stat_user_tables"
            " where schemaname = any(%s) and last_analyze is null",
            (list(BUILT_SCHEMAS),),
        ).fetchall()
    return sorted(name for (name,) in rows)


def test_every_fact_and_bridge_has_btree_indexes_on_its_keys(scenario: Scenario) -> None:
    gaps = unindexed_keys(scenario.settings.dsn)
    assert {"gold.fct_encounters", "gold.fct_claims", "gold.bridge_encounter_diagnosis"} <= set(gaps)
    assert {table: columns for table, columns in gaps.items() if columns} == {}


def test_no_constraint_is_named_after_the_temporary_relation(scenario: Scenario) -> None:
    assert temporary_names(scenario.settings.dsn) == []
    with psycopg.connect(scenario.settings.dsn) as conn:
        [(name,)] = conn.execute(
            "select conname from pg_constraint where conrelid = 'gold.fct_encounters'::regclass"
            " and contype = 'p'"
        ).fetchall()
    assert name == "fct_encounters_pkey"


def test_every_built_table_was_analyzed(scenario: Scenario) -> None:
    assert never_analyzed(scenario.settings.dsn) == []


def test_production_builds_run_no_unit_test(scenario: Scenario) -> None:
    kept = list(scenario.settings.dbt_runs_dir.glob("*/run_results.json"))
    assert kept
    ran = [r["unique_id"] for path in kept for r in json.loads(path.read_text())["results"]]
    assert ran and not [uid for uid in ran if uid.startswith("unit_test.")]


def run_unit_tests(settings: Settings) -> list[dict]:
    """``carehouse dbt test --select resource_type:unit_test``; the outcomes its on-run-end hook
    recorded in silver.dq_test_results are removed again (the warehouse stays as the pipeline
    left it)."""
    done = run_cli(settings, "dbt", "test", "--select", "resource_type:unit_test")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    with psycopg.connect(settings.dsn) as conn:
        conn.execute(
            "delete from silver.dq_test_results where invocation_id = %s",
            (results["metadata"]["invocation_id"],),
        )
    # the on-run-end hook is a result too
    return [r for r in results["results"] if not r["unique_id"].startswith("operation.")]


def test_the_unit_tests_pass_once_in_the_suite(scenario: Scenario) -> None:
    results = run_unit_tests(scenario.settings)
    assert len(results) >= 60
    assert all(r["unique_id"].startswith("unit_test.") for r in results)
    assert {r["status"] for r in results} == {"pass"}
