"""Great Expectations check outcomes into silver.dq_test_results, beside dbt's test outcomes.

dbt's on-run-end hook (dbt_project/macros/data_quality/dq_test_results.sql) keeps one row per
dbt test there; gold.mart_data_quality_metrics counts them. A GX check runs in Dagster, not
dbt, so it records its own row here: status and failing-row count only, never the rows.
The bronze checks can run before dbt first builds silver, so the table is created if missing
(the same columns the dbt model declares).

A passing validation is also remembered in ``bronze.carehouse__gx_validations`` with the table's
row version and the suite's digest: while neither changes, the next run carries the pass forward
instead of reading the table again (a day that brought no billing file re-reads no billing table).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg import sql

from warehouse.connection import connect

RESULTS_TABLE = "silver.dq_test_results"
VALIDATIONS = sql.Identifier("bronze", "carehouse__gx_validations")
GX_TEST_TYPE = "gx_check"
_COLUMNS = (
    ("test_unique_id", "text"),
    ("test_name", "text"),
    ("test_type", "text"),
    ("tested_node", "text"),
    ("tested_layer", "text"),
    ("status", "text"),
    ("failures", "bigint"),
    ("executed_at", "timestamp"),
    ("invocation_id", "text"),
)


def record_gx_outcome(
    check_name: str, schema: str, table: str, passed: bool, failures: int, run_id: str
) -> None:
    """Replace the check's row with its latest outcome (one row per check, like dbt's tests)."""
    # silver checks guard intermediate models; the layer names follow the dbt hook's
    layer = "bronze" if schema == "bronze" else "intermediate"
    row = (
        f"gx.{schema}.{table}.{check_name}",
        check_name,
        GX_TEST_TYPE,
        table,
        layer,
        "pass" if passed else "fail",
        failures,
        datetime.now(UTC).replace(tzinfo=None),
        run_id,
    )
    columns = ", ".join(name for name, _ in _COLUMNS)
    with connect() as conn, conn.transaction():
        conn.execute("create schema if not exists silver")
        conn.execute(
            f"create table if not exists {RESULTS_TABLE} ({', '.join(f'{n} {t}' for n, t in _COLUMNS)})"
        )
        conn.execute(f"delete from {RESULTS_TABLE} where test_unique_id = %s", (row[0],))
        conn.execute(f"insert into {RESULTS_TABLE} ({columns}) values ({', '.join(['%s'] * len(row))})", row)


def _ensure_validations_table(conn: psycopg.Connection) -> None:
    conn.execute("create schema if not exists bronze")
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            " check_name text primary key, row_version text not null, suite_digest text not null,"
            " validated_in_run text not null, validated_at timestamptz not null default now())"
        ).format(VALIDATIONS)
    )


def passed_unchanged(
    conn: psycopg.Connection, check_name: str, row_version: str, suite_digest: str
) -> str | None:
    """The run that last validated this very table state with this very suite and passed, if any."""
    _ensure_validations_table(conn)
    row = conn.execute(
        sql.SQL(
            "select validated_in_run from {} where check_name = %s and row_version = %s and suite_digest = %s"
        ).format(VALIDATIONS),
        (check_name, row_version, suite_digest),
    ).fetchone()
    return row[0] if row else None


def record_validation(
    conn: psycopg.Connection, check_name: str, row_version: str, suite_digest: str, passed: bool, run_id: str
) -> None:
    """Remember a pass (for the next run to carry forward); a failure forgets the check's last pass."""
    _ensure_validations_table(conn)
    with conn.transaction():
        conn.execute(sql.SQL("delete from {} where check_name = %s").format(VALIDATIONS), (check_name,))
        if passed:
            conn.execute(
                sql.SQL(
                    "insert into {} (check_name, row_version, suite_digest, validated_in_run)"
                    " values (%s, %s, %s, %s)"
                ).format(VALIDATIONS),
                (check_name, row_version, suite_digest, run_id),
            )
