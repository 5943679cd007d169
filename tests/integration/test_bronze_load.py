"""The dlt bronze load on a real Postgres: lineage, rejected lines, incremental, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from ingestion.ehr.bronze import ENTITIES, bronze_table
from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.landing import batch_dir, write_manifest
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings


def _write_batch(
    settings: Settings, system: str, batch_id: str, lines: list[str], complete: bool = True
) -> Path:
    folder = batch_dir(
        settings.landing_dir, settings.tenant, settings.environment, system, "encounter", batch_id
    )
    folder.mkdir(parents=True)
    (folder / "encounter-0000.ndjson").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if complete:
        write_manifest(folder, {"encounter-0000.ndjson": len(lines)}, {"kind": "test"})
    return folder


def _encounter(n: int) -> str:
    return json.dumps({"resourceType": "Encounter", "id": str(n), "status": "finished"})


def _counts(settings: Settings) -> tuple[int, int]:
    with psycopg.connect(settings.dsn) as conn:
        rows = conn.execute("select count(*) from bronze.ehr__encounter").fetchone()[0]
        rejected = conn.execute("select count(*) from bronze.ehr__rejected_line").fetchone()[0]
    return rows, rejected


def test_bronze_load_is_incremental_idempotent_and_loses_nothing(scratch_warehouse: Settings) -> None:
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    _write_batch(settings, "athena", "20250301T060000Z", [_encounter(n) for n in range(1, 6)])
    _write_batch(settings, "epic", "20250301T060000Z", [_encounter(1), "{not json", _encounter(2), "[]"])
    in_flight = _write_batch(settings, "epic", "20250302T060000Z", [_encounter(3)], complete=False)

    first = load_ehr_to_bronze(settings)
    assert first.files == 2  # the batch without a manifest is still being written: not loaded
    assert (first.source, first.rows_by_table, first.rejected_rows) == ("ehr", {"ehr__encounter": 7}, 2)
    assert _counts(settings) == (7, 2)  # 9 lines in = 7 resources + 2 rejected lines
    # every dlt table gets the load-id index incremental silver and the skip check range-scan
    with psycopg.connect(settings.dsn) as conn:
        indexed = conn.execute(
            "select tablename from pg_indexes where schemaname = 'bronze'"
            " and indexdef like '%((_dlt_load_id)::numeric)%'"
        ).fetchall()
    assert {"ehr__encounter", "ehr__rejected_line"} <= {table for (table,) in indexed}
    # ... and the load-time index the data-quality freshness model reads the newest load by
    with psycopg.connect(settings.dsn) as conn:
        by_load_time = conn.execute(
            "select tablename from pg_indexes where schemaname = 'bronze' and indexdef like '%(ingested_at)%'"
        ).fetchall()
    assert "ehr__encounter" in {table for (table,) in by_load_time}

    again = load_ehr_to_bronze(settings)
    assert again.files == 0 and again.rows == 0
    assert _counts(settings) == (7, 2)

    write_manifest(in_flight, {"encounter-0000.ndjson": 1}, {"kind": "test"})
    third = load_ehr_to_bronze(settings)
    assert third.files == 1
    assert _counts(settings) == (8, 2)

    with psycopg.connect(settings.dsn) as conn:
        lineage = conn.execute(
            "select ehr_system, batch_id, line_number, resource->>'id', _dlt_load_id is not null,"
            " ingested_at is not null, jsonb_typeof(resource) from bronze.ehr__encounter"
            " where source_file like %s order by line_number",
            ("%/epic/encounter/20250301T060000Z/%",),
        ).fetchall()
        assert lineage == [
            ("epic", "20250301T060000Z", 1, "1", True, True, "object"),
            ("epic", "20250301T060000Z", 3, "2", True, True, "object"),
        ]
        rejected = conn.execute(
            "select line_number, raw_line, error like 'invalid JSON%%' from bronze.ehr__rejected_line"
            " order by line_number"
        ).fetchall()
        assert rejected == [(2, "{not json", True), (4, "[]", False)]


def test_every_modeled_type_has_its_bronze_table_before_any_file_of_it_arrives(
    scratch_warehouse: Settings,
) -> None:
    """A source that never sends, say, Immunization is normal: silver still finds the table."""
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    _write_batch(settings, "athena", "20250301T060000Z", [_encounter(1)])
    load_ehr_to_bronze(settings)
    with psycopg.connect(settings.dsn) as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'bronze'"
            )
        }
        columns = conn.execute(
            "select array_agg(column_name::text order by column_name) from information_schema.columns"
            " where table_schema = 'bronze' and table_name = any(%s) group by table_name",
            (["ehr__encounter", "ehr__immunization"],),
        ).fetchall()
        immunizations = conn.execute("select count(*) from bronze.ehr__immunization").fetchone()[0]
    assert {bronze_table(entity) for entity in ENTITIES} <= tables
    assert immunizations == 0
    assert len(columns) == 2 and columns[0] == columns[1]  # an empty table has the loaded columns
