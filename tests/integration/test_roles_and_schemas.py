"""Schemas and read-only roles on a real Postgres: analysts see gold only."""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest

from warehouse.schemas import ANALYST_ROLE, LAYER_SCHEMAS, REVIEWER_ROLE, ensure_schemas_and_roles
from warehouse.settings import Settings


def _can_read(conn: psycopg.Connection, role: str, table: str) -> bool:
    conn.execute(f"set role {role}")
    try:
        conn.execute(f"select count(*) from {table}")
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False
    finally:
        conn.execute("reset role")


def test_schemas_roles_and_grants(scratch_warehouse: Settings) -> None:
    ensure_schemas_and_roles(scratch_warehouse)
    ensure_schemas_and_roles(scratch_warehouse)  # idempotent
    with psycopg.connect(scratch_warehouse.dsn, autocommit=True) as conn:
        schemas = {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}
        assert set(LAYER_SCHEMAS) <= schemas
        # tables created after the grants (as dbt and dlt do) are covered by default privileges
        for schema in LAYER_SCHEMAS:
            conn.execute(f"create table {schema}.probe as select 1 as x")

        assert _can_read(conn, ANALYST_ROLE, "gold.probe")
        for schema in ("bronze", "silver", "snapshots", "review"):
            assert not _can_read(conn, ANALYST_ROLE, f"{schema}.probe"), schema

        assert _can_read(conn, REVIEWER_ROLE, "gold.probe")
        assert _can_read(conn, REVIEWER_ROLE, "review.probe")
        for schema in ("bronze", "silver", "snapshots"):
            assert not _can_read(conn, REVIEWER_ROLE, f"{schema}.probe"), schema


def test_db_url_works_for_psql_over_tcp(warehouse_settings: Settings) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("no psql client on this machine")
    assert "127.0.0.1" in warehouse_settings.dsn or not warehouse_settings.uses_embedded_server
    out = subprocess.run(
        [psql, warehouse_settings.dsn, "-tAc", "select 40 + 2"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "42"
