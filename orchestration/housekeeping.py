"""Bounded disk and honest run history: what ``carehouse run`` tidies while it holds the lock.

- Runs of ``carehouse run`` execute in its own process; if that process is killed, Dagster never
  hears the end of the run. Such runs are marked failed by the next ``carehouse run`` (Dagster's
  run monitoring does the same for runs the daemon launches, see ``orchestration.instance``).
- Dagster keeps every run's event log; only the newest ``settings.keep_runs`` runs are kept. The
  old ones go *before* a run, so the new run's events reuse the space the old ones freed (SQLite
  files never shrink). ``carehouse run`` prunes itself; for runs the daemon launches, the
  ``housekeeping_sensor`` does it every hour.
- dagster-dbt writes one target folder per dbt invocation (manifest, compiled SQL, logs): they
  live under the carehouse home and only the newest few are kept.
"""

from __future__ import annotations

import os
import shutil
import socket

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from orchestration.event_log import event_log_dir
from warehouse.settings import Settings, get_settings

LAUNCHED_BY_TAG = "carehouse/launched_by"
PID_TAG = "carehouse/pid"
HOST_TAG = "carehouse/host"
CLI_LAUNCHER = "carehouse run"
DBT_TARGETS_KEPT = 3  # the three dbt steps of the last run
# NOT_STARTED too: `carehouse run` creates its run, then executes it; a kill between the two
# would leave it waiting forever
_UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def run_tags() -> dict[str, str]:
    """Tags that let a later ``carehouse run`` tell whether this run's process is still alive."""
    return {LAUNCHED_BY_TAG: CLI_LAUNCHER, PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _process_alive(pid: int, started_at: float | None) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return False
    # a reused pid belongs to a process that started after the run did
    return started_at is None or process.create_time() <= started_at + 1


def fail_abandoned_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the unfinished ``carehouse run`` runs of this host whose process is gone."""
    runs = instance.get_run_records(
        filters=RunsFilter(statuses=_UNFINISHED, tags={LAUNCHED_BY_TAG: CLI_LAUNCHER})
    )
    failed: list[str] = []
    for record in runs:
        run = record.dagster_run
        if run.tags.get(HOST_TAG) != socket.gethostname():
            continue
        pid = int(run.tags.get(PID_TAG, "0"))
        if pid and _process_alive(pid, record.start_time):
            continue
        instance.report_run_failed(
            run, message=f"the process of this run (pid {pid}) ended without finishing it"
        )
        failed.append(run.run_id)
    return failed


def prune_dagster_runs(instance: DagsterInstance, settings: Settings, keep: int | None = None) -> int:
    """Delete every finished run older than the newest ``keep`` (default ``settings.keep_runs``),
    event logs included."""
    records = instance.get_run_records()  # newest first
    removed = 0
    for record in records[settings.keep_runs if keep is None else keep :]:
        run = record.dagster_run
        if run.status in _UNFINISHED:
            continue
        instance.delete_run(run.run_id)
        # the run's own event-log database and captured step output are files of their own
        for suffix in (".db", ".db-wal", ".db-shm"):  # WAL files outlive a killed process
            (event_log_dir(settings.dagster_home) / f"{run.run_id}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(settings.dagster_home / "storage" / run.run_id, ignore_errors=True)
        removed += 1
    return removed


def prune_dbt_targets(settings: Settings, keep: int = DBT_TARGETS_KEPT) -> int:
    """Delete all but the newest ``keep`` dbt invocation folders."""
    root = settings.dbt_runs_dir
    if not root.is_dir():
        return 0
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return max(0, len(folders) - keep)


@sensor(
    minimum_interval_seconds=3600,
    default_status=DefaultSensorStatus.RUNNING,
    description="Deletes Dagster runs beyond the newest CAREHOUSE_KEEP_RUNS (10) with their event logs.",
)
def housekeeping_sensor(context: SensorEvaluationContext) -> SkipReason:
    removed = prune_dagster_runs(context.instance, get_settings())
    return SkipReason(f"deleted {removed} old run(s)")
