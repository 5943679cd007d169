"""The ``carehouse`` command line. Every command has ``--help``."""

from __future__ import annotations

import sys

from orchestration.cli import bench, db, dbt, load, run, simulate, status, ui  # noqa: F401 - register commands
from orchestration.cli.app import app, console

__all__ = ["app", "main"]


def main() -> None:
    """The console script: a user's mistake or a busy warehouse is one line, never a traceback."""
    from warehouse.keys import GoldKeyMismatchError
    from warehouse.lock import WarehouseBusyError
    from warehouse.secret_files import SecretFileError
    from warehouse.settings import SettingsError

    try:
        app()
    except (WarehouseBusyError, GoldKeyMismatchError, SecretFileError, SettingsError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
