"""The ADT sensor: one run request per new complete micro-batch, none when nothing is new."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from ingestion.adt.simulator import follow, simulate_adt_day
from orchestration.assets.adt import ADT_SENSOR_INTERVAL_S, adt_stream_sensor
from warehouse.settings import ENV_HOME


def _evaluate(cursor: str | None):
    with DagsterInstance.ephemeral() as instance:
        return adt_stream_sensor(build_sensor_context(instance=instance, cursor=cursor))


def test_sensor_requests_a_run_for_new_batches_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path))
    assert isinstance(_evaluate(None), SkipReason)  # empty landing zone

    landing = tmp_path / "landing"
    simulate_adt_day(landing, day=date(2025, 3, 1), seed=3)
    first = _evaluate(None)
    assert len(first.run_requests) == 1 and isinstance(first.run_requests[0], RunRequest)
    cursor = first.cursor
    assert first.run_requests[0].run_key == f"adt-{cursor}"

    assert isinstance(_evaluate(cursor), SkipReason)  # nothing new since the cursor

    follow(landing, events_per_second=200, max_events=50, duration_s=5, seed=3, tenant="carehouse", env="dev")
    later = _evaluate(cursor)
    assert len(later.run_requests) == 1
    assert later.cursor > cursor
    assert ADT_SENSOR_INTERVAL_S <= 30  # new batches are picked up within 30 seconds
