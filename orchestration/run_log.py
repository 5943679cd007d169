"""Where a foreground run's full output goes: ``$CAREHOUSE_HOME/logs/<run id>.log``.

While ``carehouse run`` executes, everything the steps write to stdout and stderr (dbt's node
lines as dagster-dbt re-emits them, Dagster's console log, warnings) goes to the run's log file;
``--verbose`` also streams it to the terminal. The terminal otherwise shows the live progress
view only. Event logs stay in the Dagster instance either way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TextIO

from warehouse.secret_files import private_dir
from warehouse.settings import Settings


def logs_dir(settings: Settings) -> Path:
    return settings.home / "logs"


def run_log_path(settings: Settings, run_id: str) -> Path:
    return logs_dir(settings) / f"{run_id}.log"


class _Tee:
    """A text stream that writes to several (the log file and, verbose, the terminal)."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False  # no colour codes in the log file


@contextmanager
def captured_output(path: Path, *, echo: bool) -> Iterator[None]:
    """Send this process's stdout and stderr to ``path`` (and to the terminal with ``echo``)."""
    private_dir(path.parent)
    with path.open("a", encoding="utf-8") as log:
        out = _Tee(log, sys.stdout) if echo else log
        err = _Tee(log, sys.stderr) if echo else log
        with redirect_stdout(out), redirect_stderr(err):  # type: ignore[type-var]
            yield


def prune_run_logs(settings: Settings, keep: int) -> int:
    """Delete all but the ``keep`` newest run logs (Dagster keeps as many runs)."""
    folder = logs_dir(settings)
    if not folder.is_dir():
        return 0
    logs = sorted(folder.glob("*.log"), key=lambda path: path.stat().st_mtime, reverse=True)
    for old in logs[keep:]:
        old.unlink(missing_ok=True)
    return len(logs[keep:])
