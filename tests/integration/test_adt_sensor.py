"""The ADT sensor on a real warehouse: one run request per new complete micro-batch, none when
nothing is new, and on its first tick none for batches bronze already holds."""

from __future__ import annotations

import json
from datetime import date

import pytest
from dagster import DagsterInstance, RunRequest, SensorResult, SkipReason, build_sensor_context

from ingestion.adt.pipeline import load_adt_to_bronze
from ingestion.adt.simulator import follow, simulate_adt_day
from ingestion.landing import batch_dir, write_manifest
from orchestration.assets.adt import ADT_SENSOR_INTERVAL_S, adt_stream_sensor, newest_loaded_batch
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import ENV_DSN, Settings


def _evaluate(cursor: str | None) -> SensorResult | SkipReason:
    with DagsterInstance.ephemeral() as instance:
        return adt_stream_sensor(build_sensor_context(instance=instance, cursor=cursor))


def _batch(settings: Settings, batch_id: str, offset: int) -> None:
    folder = batch_dir(settings.landing_dir, settings.tenant, settings.environment, "adt", "events", batch_id)
    folder.mkdir(parents=True)
    record = {
        "topic": "adt.events",
        "partition": 0,
        "offset": offset,
        "producer_time": "2025-03-01T10:00:00+00:00",
        "event": {"event_id": f"E{offset}", "event_type": "ADMISSION"},
    }
    (folder / "events-0000.ndjson").write_text(json.dumps(record) + "\n", encoding="utf-8")
    write_manifest(folder, {"events-0000.ndjson": 1}, {"kind": "test"})


def test_sensor_requests_a_run_for_new_batches_only(warehouse: Settings) -> None:
    assert isinstance(_evaluate(None), SkipReason)  # empty landing zone

    landing, tenant, env = warehouse.landing_dir, warehouse.tenant, warehouse.environment
    simulate_adt_day(landing, day=date(2025, 3, 1), seed=3, tenant=tenant, env=env)
    first = _evaluate(None)  # empty bronze: every batch on disk is new
    assert isinstance(first, SensorResult)
    assert len(first.run_requests) == 1 and isinstance(first.run_requests[0], RunRequest)
    cursor = first.cursor
    assert first.run_requests[0].run_key == f"adt-{cursor}"

    again = _evaluate(cursor)
    assert isinstance(again, SkipReason) or not again.run_requests  # nothing new since the cursor

    follow(
        landing,
        events_per_second=200,
        max_events=50,
        duration_s=5,
        seed=3,
        tenant=tenant,
        env=env,
    )
    later = _evaluate(cursor)
    assert len(later.run_requests) == 1
    assert later.cursor > cursor
    assert ADT_SENSOR_INTERVAL_S <= 30  # new batches are picked up within 30 seconds


def test_first_tick_starts_from_what_bronze_already_holds(warehouse: Settings) -> None:
    ensure_schemas_and_roles(warehouse)
    _batch(warehouse, "20250301T100000Z-000001", 0)
    _batch(warehouse, "20250301T100002Z-000002", 1)
    load_adt_to_bronze(warehouse)
    assert newest_loaded_batch(warehouse) == "20250301T100002Z-000002"

    first = _evaluate(None)  # no cursor: both batches are in bronze, so no run
    assert isinstance(first, SensorResult) and not first.run_requests
    assert first.cursor == "20250301T100002Z-000002"

    _batch(warehouse, "20250301T100004Z-000003", 2)  # a batch bronze does not hold yet
    later = _evaluate(first.cursor)
    assert [r.run_key for r in later.run_requests] == ["adt-20250301T100004Z-000003"]
    assert _evaluate(None).run_requests[0].run_key == "adt-20250301T100004Z-000003"  # same from bronze


def test_unreachable_bronze_skips_without_a_cursor(
    warehouse: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _batch(warehouse, "20250301T100000Z-000001", 0)
    monkeypatch.setenv(ENV_DSN, "postgresql://carehouse:wrong@127.0.0.1:1/carehouse?connect_timeout=2")
    result = _evaluate(None)
    assert isinstance(result, SkipReason) and "bronze unreachable" in (result.skip_message or "")
