"""The ADT stream's bronze load: exactly once, complete micro-batches only, metadata as columns."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from ingestion.adt.pipeline import load_adt_to_bronze
from ingestion.landing import batch_dir, write_manifest
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings


def _record(partition: int, offset: int, event_id: str) -> str:
    event = {"event_id": event_id, "event_type": "ADMISSION", "patient_id": "P0000001", "department": "ICU"}
    return json.dumps(
        {
            "topic": "adt.events",
            "partition": partition,
            "offset": offset,
            "key": "P0000001",
            "producer_time": "2025-03-01T10:00:00.123456+00:00",
            "event": event,
        }
    )


def _batch(settings: Settings, batch_id: str, lines: list[str], complete: bool = True) -> Path:
    folder = batch_dir(settings.landing_dir, settings.tenant, settings.environment, "adt", "events", batch_id)
    folder.mkdir(parents=True)
    (folder / "events-0000.ndjson").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if complete:
        write_manifest(folder, {"events-0000.ndjson": len(lines)}, {"kind": "test"})
    return folder


def test_micro_batches_land_exactly_once(scratch_warehouse: Settings) -> None:
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    _batch(settings, "20250301T100000Z-000001", [_record(0, 0, "A"), _record(1, 0, "B"), "{broken"])
    writing = _batch(settings, "20250301T100002Z-000002", [_record(0, 1, "C")], complete=False)
    _batch(settings, "20250301T100004Z-000003", ['{"topic":"adt.events","event":{}}'])  # no partition/offset

    def loaded() -> tuple[int, dict[str, int], int]:
        result = load_adt_to_bronze(settings)
        assert result.source == "adt"
        return result.files, result.rows_by_table, result.rejected_rows

    assert loaded() == (2, {"adt__events": 2}, 2)
    assert loaded() == (0, {"adt__events": 0}, 0)  # seen: not again

    write_manifest(writing, {"events-0000.ndjson": 1}, {"kind": "test"})  # the batch completes
    assert loaded() == (1, {"adt__events": 1}, 0)

    with psycopg.connect(settings.dsn) as conn:
        rows = conn.execute(
            "select topic, \"partition\", \"offset\", record->'event'->>'event_id', producer_time,"
            " batch_id, line_number, _dlt_load_id is not null from bronze.adt__events"
            ' order by "partition", "offset"'
        ).fetchall()
        assert [(r[1], r[2], r[3]) for r in rows] == [(0, 0, "A"), (0, 1, "C"), (1, 0, "B")]
        assert all(r[0] == "adt.events" and r[4].microsecond == 123456 and r[7] for r in rows)
        errors = conn.execute(
            "select line_number, error from bronze.adt__rejected_line order by batch_id"
        ).fetchall()
        assert errors[0][0] == 3 and errors[0][1].startswith("invalid JSON")
        assert errors[1] == (1, "record has no valid partition/offset")
