"""The ``carehouse`` command line. Every command has ``--help``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence

import typer
from typer.core import TyperGroup

from orchestration.cli import bench, db, dbt, load, run, simulate, status, ui  # noqa: F401 - register commands
from orchestration.cli.app import app, console

__all__ = ["app", "main", "run_as"]


def main() -> None:
    """The console script: a user's mistake or a busy warehouse is one line, never a traceback."""
    _one_line_errors(app)


def run_as(
    prog_name: str, command: Sequence[str] | Mapping[str, Sequence[str]], argv: list[str] | None = None
) -> None:
    """Run carehouse commands under another program name, for the ``python -m ingestion.<source>``
    entry points: ``("load", "ehr")`` runs that one command; ``{"serve": ("simulate", "ehr-api"),
    ...}`` offers several as subcommands. Same options, same help, same one-line errors."""
    if isinstance(command, Mapping):
        commands = {name: _click_command(path, name) for name, path in command.items()}
        cli = TyperGroup(name=prog_name, commands=commands, no_args_is_help=True)
    else:
        cli = _click_command(command)
    _one_line_errors(lambda: cli.main(args=argv, prog_name=prog_name))


def _click_command(path: Sequence[str], name: str | None = None):  # -> the Click command for ``path``
    command = typer.main.get_command(app)  # built afresh on every call: renaming it is safe
    for member in path:
        if not isinstance(command, TyperGroup):
            raise LookupError(f"carehouse {' '.join(path)}: {member} is not in a command group")
        command = command.commands[member]
    if name is not None:
        command.name = name
    return command


def _one_line_errors(command: Callable[[], object]) -> None:
    from ingestion.ehr.registry import RegistryError, UnknownEhrSystem
    from warehouse.keys import GoldKeyMismatchError
    from warehouse.lock import WarehouseBusyError
    from warehouse.secret_files import SecretFileError
    from warehouse.settings import SettingsError

    try:
        command()
    except (
        WarehouseBusyError,
        GoldKeyMismatchError,
        SecretFileError,
        SettingsError,
        RegistryError,  # the EHR registry, read by every EHR load (e.g. inside carehouse run)
        UnknownEhrSystem,
    ) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
