"""``carehouse bench pipeline``: what a day's run costs against the first, full-history run.

A fresh warehouse (a scratch database on the warehouse's server and a temporary carehouse
home, both removed afterwards) runs ``carehouse run`` for the start date (the first run lands
the full history), then for ``days`` more days (incremental days), then the last day once more
with nothing new. Each run is the command a user types, in its own process: it loads the Dagster
definitions and dbt manifest for the scratch warehouse, as it would for any warehouse. Each
run's per-step time and rows are read from its Dagster event log; peak RSS is sampled over the
whole process tree (the run and its dbt processes).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from statistics import mean
from typing import IO

import psutil
import psycopg
from dagster import DagsterEventType, DagsterInstance
from rich.console import Console

from orchestration.bench import _scratch_warehouse
from orchestration.dbt_project import REPO_ROOT
from orchestration.progress import metadata_rows, phase_of
from warehouse.settings import ENV_DSN, ENV_HOME, Settings

SCRATCH_SUFFIX = "pipeline_bench"
# daily_pipeline's phases (orchestration.progress) under the names the benchmark prints
STEP_NAMES = {
    "landing": "simulate",
    "bronze": "load",
    "silver": "silver",
    "snapshots": "snapshots",
    "gold": "gold",
    "checks": "checks",
}
STEPS = tuple(STEP_NAMES.values())
_RSS_INTERVAL_S = 0.2
_GB = 1024**3


@dataclass(frozen=True)
class StepFigures:
    seconds: float
    rows: int


@dataclass(frozen=True)
class RunFigures:
    kind: str  # "full", "incremental" or "no change"
    day: date
    wall_s: float
    steps: dict[str, StepFigures]
    peak_rss_bytes: int
    database_bytes: int
    home_bytes: int


@dataclass
class PipelineBenchmark:
    patients: int
    runs: list[RunFigures] = field(default_factory=list)

    def _of(self, kind: str) -> list[RunFigures]:
        return [run for run in self.runs if run.kind == kind]

    @property
    def full(self) -> RunFigures:
        return self._of("full")[0]

    @property
    def incremental_day_vs_full_ratio(self) -> float:
        return mean(run.wall_s for run in self._of("incremental")) / self.full.wall_s

    @property
    def no_change_vs_full_ratio(self) -> float:
        return self._of("no change")[0].wall_s / self.full.wall_s

    @property
    def peak_rss_bytes(self) -> int:
        return max(run.peak_rss_bytes for run in self.runs)


class TreeRssSampler:
    """Peak resident memory of this process and all its descendants (summed), sampled on a
    thread; the kernel's own peaks (this process, its largest waited-for child) are a floor."""

    def __init__(self, interval_s: float = _RSS_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="carehouse-rss", daemon=True)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._measure()
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            self.peak = max(self.peak, resource.getrusage(who).ru_maxrss * 1024)  # KiB on Linux

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._measure()

    def _measure(self) -> None:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:  # ended between listing and reading
                continue
        self.peak = max(self.peak, total)


def step_figures(instance: DagsterInstance, run_id: str) -> dict[str, StepFigures]:
    """Per step of the benchmark: the summed durations of its Dagster steps (STEP_START to
    STEP_SUCCESS/FAILURE) and the rows its materializations report (rows landed, loaded, and
    the row counts of the tables dbt built)."""
    started: dict[str, float] = {}
    seconds = dict.fromkeys(STEPS, 0.0)
    rows = dict.fromkeys(STEPS, 0)
    for record in instance.get_records_for_run(run_id, limit=None).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        step = STEP_NAMES[phase_of(event.step_key)]
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            seconds[step] += entry.timestamp - started.pop(event.step_key, entry.timestamp)
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            rows[step] += metadata_rows(dict(event.event_specific_data.materialization.metadata))
    return {step: StepFigures(seconds[step], rows[step]) for step in STEPS}


def database_bytes(settings: Settings) -> int:
    with psycopg.connect(settings.dsn) as conn:
        return int(conn.execute("select pg_database_size(current_database())").fetchone()[0])


def tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def benchmark_days(start: date, days: int) -> list[tuple[str, date]]:
    """(kind, day) of every run: the full history, ``days`` incremental days, the last again."""
    plan = [("full", start)]
    plan += [("incremental", start + timedelta(days=offset)) for offset in range(1, days + 1)]
    return [*plan, ("no change", plan[-1][1])]


def run_pipeline_benchmark(
    settings: Settings,
    patients: int,
    days: int = 1,
    start_date: date = date(2025, 3, 1),
    seed: int = 42,
    console: Console | None = None,
    log_path: Path | None = None,
) -> PipelineBenchmark:
    """Run the benchmark on a scratch warehouse; a failed run raises ``RuntimeError``."""
    from dagster._core.utils import make_new_run_id

    from orchestration.instance import carehouse_instance
    from orchestration.progress import RunWatcher
    from orchestration.run_log import logs_dir

    console = console or Console()
    # the live view keeps the terminal while the runs' own output goes to the log
    terminal = Console(file=console.file, quiet=console.quiet)
    log_path = log_path or logs_dir(settings) / f"bench-pipeline-{time.strftime('%Y%m%dT%H%M%S')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    report = PipelineBenchmark(patients=patients)
    with _scratch_warehouse(settings, SCRATCH_SUFFIX) as scratch, log_path.open("a") as log:
        instance = carehouse_instance(scratch)
        plan = benchmark_days(start_date, days)
        for number, (kind, day) in enumerate(plan, start=1):
            console.print(f"[bold]run {number}/{len(plan)}[/]: {kind}, {day}")
            run_id = make_new_run_id()
            with TreeRssSampler() as rss, RunWatcher(instance, run_id, terminal):
                started = time.perf_counter()
                exit_code = run_command(scratch, day, seed=seed, patients=patients, run_id=run_id, log=log)
                wall_s = time.perf_counter() - started
            if exit_code != 0:
                raise RuntimeError(f"the {kind} run for {day} failed (exit {exit_code}); log: {log_path}")
            figures = RunFigures(
                kind=kind,
                day=day,
                wall_s=wall_s,
                steps=step_figures(instance, run_id),
                peak_rss_bytes=rss.peak,
                database_bytes=database_bytes(scratch),
                home_bytes=tree_bytes(scratch.home),
            )
            report.runs.append(figures)
            console.print(describe_run(figures), highlight=False)
    return report


def run_command(scratch: Settings, day: date, *, seed: int, patients: int, run_id: str, log: IO[str]) -> int:
    """``carehouse run`` for ``day`` against the scratch warehouse, its output appended to
    ``log``; its exit code. Ctrl-C reaches it too (same process group) and ends the benchmark."""
    command = [sys.executable, "-m", "orchestration.cli", "run", "--date", day.isoformat()]
    command += ["--seed", str(seed), "--patients", str(patients), "--run-id", run_id]
    env = {**os.environ, ENV_DSN: scratch.dsn, ENV_HOME: str(scratch.home)}
    log.flush()
    return subprocess.run(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT).returncode


def describe_run(run: RunFigures) -> str:
    """One line for the run, then one per step: time and rows."""
    lines = [
        f"{run.kind} run {run.day}: {run.wall_s:,.1f} s wall, peak RSS {run.peak_rss_bytes / _GB:.2f} GB,"
        f" database {run.database_bytes / _GB:.2f} GB, carehouse home {run.home_bytes / _GB:.3f} GB"
    ]
    for name, step in run.steps.items():
        lines.append(f"  {name:<10} {step.seconds:8.1f} s  {step.rows:>12,} rows")
    return "\n".join(lines)


def report_lines(report: PipelineBenchmark) -> list[str]:
    """The ``name=value`` lines, as the other benchmarks print them."""
    full = report.full
    return [
        f"full_run_s={full.wall_s:.1f}",
        f"peak_rss_gb={report.peak_rss_bytes / _GB:.2f}",
        f"database_gb={report.runs[-1].database_bytes / _GB:.3f}",
        f"carehouse_home_gb={report.runs[-1].home_bytes / _GB:.3f}",
        f"incremental_day_vs_full_ratio={report.incremental_day_vs_full_ratio:.2f}",
        f"no_change_vs_full_ratio={report.no_change_vs_full_ratio:.2f}",
    ]
