"""Housekeeping on a real Dagster instance, configured as carehouse configures it (SQLite files in a
temporary carehouse home): old runs and their event-log files go, runs whose ``carehouse run``
process died are failed, live ones are left alone, and the event log kept open between events
leaves Dagster's own files behind."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    SkipReason,
    build_sensor_context,
    job,
    op,
)
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import SqliteEventLogStorage

from orchestration.event_log import PooledSqliteEventLogStorage, event_log_dir
from orchestration.housekeeping import (
    CLI_LAUNCHER,
    HOST_TAG,
    LAUNCHED_BY_TAG,
    PID_TAG,
    fail_abandoned_runs,
    housekeeping_sensor,
)
from orchestration.instance import prepare_dagster_home


@op
def noop() -> None:
    pass


@job
def tiny() -> None:
    noop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREHOUSE_HOME", str(tmp_path))
    monkeypatch.setenv("CAREHOUSE_KEEP_RUNS", "2")
    return tmp_path


@pytest.fixture
def instance(home: Path) -> Iterator[DagsterInstance]:
    with DagsterInstance.from_config(prepare_dagster_home()) as carehouse_instance:
        yield carehouse_instance


def test_the_sensor_keeps_the_newest_runs_and_deletes_the_others_files(
    home: Path, instance: DagsterInstance
) -> None:
    runs = [tiny.execute_in_process(instance=instance).run_id for _ in range(4)]
    event_logs = event_log_dir(home / "dagster")
    assert all((event_logs / f"{run}.db").exists() for run in runs)
    result = housekeeping_sensor(build_sensor_context(instance=instance))
    assert isinstance(result, SkipReason) and "deleted 2 old run(s)" in (result.skip_message or "")
    assert {r.run_id for r in instance.get_runs()} == set(runs[2:])
    left = {path.name for path in event_logs.iterdir()}
    assert not any(name.startswith((runs[0], runs[1])) for name in left)  # WAL files included
    assert {f"{runs[2]}.db", f"{runs[3]}.db"} <= left


def _step_events(instance: DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_SUCCESS).records
    return [record.event_log_entry.step_key or "" for record in records]


def test_the_event_log_is_dagsters_own_files_read_either_way(home: Path, instance: DagsterInstance) -> None:
    storage = instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    event_logs = event_log_dir(home / "dagster")
    with storage.connections_kept_open():
        written_by_carehouse = tiny.execute_in_process(instance=instance).run_id
        # the run's database stayed open in WAL mode: its WAL file is still there
        assert (event_logs / f"{written_by_carehouse}.db-wal").exists()
    # closed on leaving the block: the WAL checkpointed and removed, as Dagster leaves it
    assert [path.name for path in event_logs.iterdir() if path.suffix != ".db"] == []
    # Dagster's default storage on the same folder: a dagster.yaml-less config dir
    (home / "no-config").mkdir()
    plain_ref = InstanceRef.from_dir(str(home / "dagster"), config_dir=str(home / "no-config"))
    with DagsterInstance.from_ref(plain_ref) as plain:
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        written_by_dagster = tiny.execute_in_process(instance=plain).run_id
        assert _step_events(plain, written_by_carehouse) == ["noop"]
    assert _step_events(instance, written_by_dagster) == ["noop"]


def test_the_dagster_yaml_names_the_home_it_is_in(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The event log's folder is written into the file, so opening the instance needs no DAGSTER_HOME."""
    dagster_home = prepare_dagster_home()
    monkeypatch.delenv("DAGSTER_HOME")
    with DagsterInstance.from_config(dagster_home) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        run_id = tiny.execute_in_process(instance=instance).run_id
    assert (event_log_dir(home / "dagster") / f"{run_id}.db").exists()


def _cli_run(instance: DagsterInstance, pid: int) -> str:
    run_id = str(uuid.uuid4())
    tags = {LAUNCHED_BY_TAG: CLI_LAUNCHER, PID_TAG: str(pid), HOST_TAG: socket.gethostname()}
    instance.add_run(
        DagsterRun(job_name="daily_pipeline", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags)
    )
    return run_id


def test_runs_whose_process_died_are_failed_and_live_ones_left_alone(instance: DagsterInstance) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    dead, alive = _cli_run(instance, ended.pid), _cli_run(instance, os.getpid())
    assert fail_abandoned_runs(instance) == [dead]
    statuses = {run.run_id: run.status for run in instance.get_runs()}
    assert statuses == {dead: DagsterRunStatus.FAILURE, alive: DagsterRunStatus.STARTED}
