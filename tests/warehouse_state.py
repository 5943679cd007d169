"""Compare two warehouses table by table, row by row: what "a crash and a rerun equal a clean
run" means in a test.

Each table becomes a multiset of row digests over its columns, leaving out the columns that
record *when* something was loaded or built (they differ between any two runs, crashed or
not). Two warehouses are equal when the same tables hold the same rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import psycopg
from psycopg import sql

LAYERS = ("bronze", "silver", "snapshots", "gold", "review")

# When a row was loaded or built, not what it says: differs between any two runs.
RUN_COLUMNS = frozenset(
    {
        "_dlt_load_id",  # dlt's load and row ids
        "_dlt_id",
        "ingested_at",  # bronze lineage
        "loaded_at",  # the reference code set's load time
        "last_loaded_at",  # data-quality freshness
        "data_as_of",
        "dbt_updated_at",  # dbt snapshots
        "checked_at",  # the landing audit
        "first_checked_at",
        "executed_at",  # silver.dq_test_results
        "invocation_id",
    }
)
# Rows that measure time since a load (the freshness of each source), not data.
ROW_FILTERS = {"gold.mart_data_quality_metrics": "metric_group <> 'source_freshness'"}
# Tables that record the pipeline's own bookkeeping rather than data.
BOOKKEEPING = frozenset(
    {
        "carehouse__load_attempts",
        "carehouse__gold_key",
        "carehouse__sample_rate_changes",
        "carehouse__dbt_builds",  # what each dbt step last consumed (orchestration.dbt_selection)
        "carehouse__gx_validations",  # the GX passes a later run may carry forward
        "_dlt_loads",
        "_dlt_version",
        "_dlt_pipeline_state",
    }
)


def _tables(conn: psycopg.Connection, schemas: Iterable[str]) -> list[tuple[str, str]]:
    rows = conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
        (list(schemas),),
    )
    return [(s, t) for s, t in rows if t not in BOOKKEEPING]


def _columns(conn: psycopg.Connection, schema: str, table: str, skip: frozenset[str]) -> list[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
        " order by column_name",
        (schema, table),
    )
    return [name for (name,) in rows if name not in skip]


def warehouse_state(
    dsn: str, schemas: Iterable[str] = LAYERS, skip: frozenset[str] = RUN_COLUMNS
) -> dict[str, Counter[str]]:
    """``schema.table`` -> multiset of row digests (columns in name order, run columns left out)."""
    state: dict[str, Counter[str]] = {}
    with psycopg.connect(dsn) as conn:
        for schema, table in _tables(conn, schemas):
            columns = _columns(conn, schema, table, skip)
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
            where = ROW_FILTERS.get(f"{schema}.{table}", "true")
            query = sql.SQL("select md5({}), count(*) from {}.{} where {} group by 1").format(
                row, sql.Identifier(schema), sql.Identifier(table), sql.SQL(where)
            )
            state[f"{schema}.{table}"] = Counter(dict(conn.execute(query).fetchall()))
    return state


def differences(expected: dict[str, Counter[str]], actual: dict[str, Counter[str]]) -> dict[str, str]:
    """Tables whose rows differ, with a short account (counts only: never the rows)."""
    found: dict[str, str] = {}
    for table in sorted(expected.keys() | actual.keys()):
        if table not in actual:
            found[table] = "missing"
        elif table not in expected:
            found[table] = f"unexpected table ({sum(actual[table].values())} rows)"
        elif expected[table] != actual[table]:
            extra = sum((actual[table] - expected[table]).values())
            lost = sum((expected[table] - actual[table]).values())
            found[table] = (
                f"{sum(expected[table].values())} rows expected, {sum(actual[table].values())} found"
                f" ({lost} missing, {extra} extra)"
            )
    return found
