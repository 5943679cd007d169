"""Housekeeping on a real Dagster instance (SQLite files in a temporary carehouse home): old runs
and their event-log files go, runs whose ``carehouse run`` process died are failed, live ones
are left alone."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, SkipReason, build_sensor_context, job, op

from orchestration.housekeeping import (
    CLI_LAUNCHER,
    HOST_TAG,
    LAUNCHED_BY_TAG,
    PID_TAG,
    fail_abandoned_runs,
    housekeeping_sensor,
)


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
    (tmp_path / "dagster").mkdir()
    return tmp_path


def test_the_sensor_keeps_the_newest_runs_and_deletes_the_others_files(home: Path) -> None:
    with DagsterInstance.local_temp(str(home / "dagster")) as instance:
        runs = [tiny.execute_in_process(instance=instance).run_id for _ in range(4)]
        event_logs = {run: home / "dagster" / "history" / "runs" / f"{run}.db" for run in runs}
        assert all(path.exists() for path in event_logs.values())
        result = housekeeping_sensor(build_sensor_context(instance=instance))
        assert isinstance(result, SkipReason) and "deleted 2 old run(s)" in (result.skip_message or "")
        assert {r.run_id for r in instance.get_runs()} == set(runs[2:])
        assert [event_logs[run].exists() for run in runs] == [False, False, True, True]


def _cli_run(instance: DagsterInstance, pid: int) -> str:
    run_id = str(uuid.uuid4())
    tags = {LAUNCHED_BY_TAG: CLI_LAUNCHER, PID_TAG: str(pid), HOST_TAG: socket.gethostname()}
    instance.add_run(
        DagsterRun(job_name="daily_pipeline", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags)
    )
    return run_id


def test_runs_whose_process_died_are_failed_and_live_ones_left_alone(home: Path) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    with DagsterInstance.local_temp(str(home / "dagster")) as instance:
        dead, alive = _cli_run(instance, ended.pid), _cli_run(instance, os.getpid())
        assert fail_abandoned_runs(instance) == [dead]
        statuses = {run.run_id: run.status for run in instance.get_runs()}
        assert statuses == {dead: DagsterRunStatus.FAILURE, alive: DagsterRunStatus.STARTED}
