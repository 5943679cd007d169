"""A live view of a running ``daily_pipeline``: one line per layer, read from the run's events.

The view follows the run through the Dagster instance (the same event log ``carehouse ui``
shows), so it knows nothing of how steps run: it polls the run's new events and folds them into
phases (landing, bronze, silver, snapshots, gold, checks) with state, elapsed time and counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table

from orchestration.assets.sample_rate import SAMPLE_RATE_OP_NAME

PHASES = ("landing", "bronze", "silver", "snapshots", "gold")
_WATCHED = {
    DagsterEventType.RUN_START,
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_SKIPPED,
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_CHECK_EVALUATION,
}
# Materialization metadata that counts rows: dbt (dagster-dbt row counts), dlt, the simulators.
_ROW_KEYS = ("dagster/row_count", "rows_loaded", "records")
_ROW_PREFIXES = ("lines_", "rows_")


def phase_of(step_key: str) -> str:
    """The layer a step of ``daily_pipeline`` builds; asset-check steps are "checks"."""
    if step_key.startswith("landing__") or step_key == "bronze__landing__batches":
        return "landing"
    if step_key.endswith("_bronze") or step_key == SAMPLE_RATE_OP_NAME:
        return "bronze"
    for dbt_step, phase in (("dbt_silver", "silver"), ("dbt_snapshots", "snapshots"), ("dbt_gold", "gold")):
        if step_key == dbt_step:
            return phase
    return "checks"


def metadata_rows(metadata: dict) -> int:
    """The rows a materialization's metadata counts (dbt, dlt and simulator keys)."""
    values = [metadata[key] for key in _ROW_KEYS if key in metadata]
    values += [value for key, value in metadata.items() if key.startswith(_ROW_PREFIXES)]
    total = 0
    for value in values:
        number = getattr(value, "value", value)
        if isinstance(number, int):
            total += number
    return total


@dataclass
class Phase:
    name: str
    started_at: float | None = None
    finished_at: float | None = None
    running: set[str] = field(default_factory=set)
    done: int = 0
    failed: int = 0
    skipped: int = 0
    assets: int = 0
    rows: int = 0

    def state(self) -> str:
        if self.failed:
            return "[red]failed[/]"
        if self.running:
            return "[cyan]running[/]"
        if self.started_at is None:
            return "[dim]skipped[/]" if self.skipped else "[dim]waiting[/]"
        return "[green]done[/]"

    def elapsed(self, now: float) -> str:
        if self.started_at is None:
            return ""
        end = now if self.running else (self.finished_at or now)
        return f"{end - self.started_at:,.0f} s"


@dataclass
class RunProgress:
    """What the run's events say so far."""

    phases: dict[str, Phase] = field(default_factory=lambda: {name: Phase(name) for name in PHASES})
    checks_passed: int = 0
    checks_warned: int = 0
    checks_failed: int = 0
    started: bool = False

    def fold(self, events: Iterable) -> None:
        for entry in events:
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.RUN_START:
                self.started = True
                continue
            if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                self._count_check(event.asset_check_evaluation_data)
                continue
            name = phase_of(event.step_key or "")
            if name == "checks":
                continue
            self._fold_step(self.phases[name], event, entry.timestamp)

    def _count_check(self, evaluation) -> None:
        if evaluation.passed:
            self.checks_passed += 1
        elif evaluation.severity == AssetCheckSeverity.WARN:
            self.checks_warned += 1
        else:
            self.checks_failed += 1

    @staticmethod
    def _fold_step(phase: Phase, event, timestamp: float) -> None:
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            phase.started_at = phase.started_at or timestamp
            phase.running.add(event.step_key)
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            phase.running.discard(event.step_key)
            phase.finished_at = timestamp
            phase.done += kind == DagsterEventType.STEP_SUCCESS
            phase.failed += kind == DagsterEventType.STEP_FAILURE
        elif kind == DagsterEventType.STEP_SKIPPED:
            phase.skipped += 1
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            phase.assets += 1
            phase.rows += metadata_rows(dict(event.event_specific_data.materialization.metadata))

    def table(self, now: float) -> Table:
        table = Table(box=None, show_header=False, pad_edge=False)
        for column in ("phase", "state", "elapsed", "detail"):
            table.add_column(column, justify="right" if column == "elapsed" else "left")
        if not self.started:
            table.add_row(Spinner("dots"), "loading the Dagster definitions and starting the run…", "", "")
        for phase in self.phases.values():
            detail = f"{phase.assets:,} assets" if phase.assets else ""
            if phase.rows:
                detail += f", {phase.rows:,} rows"
            table.add_row(phase.name, phase.state(), phase.elapsed(now), detail)
        checks = f"{self.checks_passed:,} passed"
        if self.checks_warned:
            checks += f", [yellow]{self.checks_warned:,} warned[/]"
        if self.checks_failed:
            checks += f", [red]{self.checks_failed:,} failed[/]"
        table.add_row("checks", "", "", checks)
        return table


class RunWatcher:
    """Polls a run's events on its own thread and redraws the live view until stopped."""

    def __init__(self, instance: DagsterInstance, run_id: str, console: Console, interval_s: float = 0.5):
        self.instance = instance
        self.run_id = run_id
        self.console = console
        self.interval_s = interval_s
        self.progress = RunProgress()
        self._cursor: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="carehouse-progress", daemon=True)
        # transient: the final view is printed once, as plain lines, when the run ends
        self._live = Live(
            self.progress.table(time.time()), console=console, refresh_per_second=4, transient=True
        )

    def __enter__(self) -> RunWatcher:
        self._live.start()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # the last events, written after the final poll
        self._live.stop()
        self.console.print(self.progress.table(time.time()))

    def _follow(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._poll()
            self._live.update(self.progress.table(time.time()))

    def _poll(self) -> None:
        if self.instance.get_run_by_id(self.run_id) is None:
            return  # not created yet: the definitions are still loading
        connection = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=_WATCHED)
        self._cursor = connection.cursor
        self.progress.fold(record.event_log_entry for record in connection.records)
