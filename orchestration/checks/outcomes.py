"""Great Expectations check outcomes into silver.dq_test_results, beside dbt's test outcomes.

dbt's on-run-end hook (dbt_project/macros/data_quality/dq_test_results.sql) keeps one row per
dbt test there; gold.mart_data_quality_metrics counts them. A GX check runs in Dagster, not
dbt, so it records its own row here: status and failing-row count only, never the rows.
The bronze checks can run before dbt first builds silver, so the table is created if missing
(the same columns the dbt model declares).
"""

from __future__ import annotations

from datetime import UTC, datetime

from warehouse.connection import connect

RESULTS_TABLE = "silver.dq_test_results"
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
