"""``carehouse dbt``: dbt against the configured warehouse."""

from __future__ import annotations

import os
import subprocess

import typer

from orchestration.cli.app import (
    app,
    say_waiting,
)
from warehouse.settings import get_settings


@app.command("dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt_command(ctx: typer.Context) -> None:
    """Run dbt against the configured warehouse, e.g. `carehouse dbt build --select tag:gold`.

    The connection, the gold key's session settings and dbt's target folder (under the carehouse
    home) come from the same settings as every other step; the writer lock is held while dbt runs.
    """
    from orchestration.dbt_project import dbt_executable, dbt_process_env, dbt_project_args
    from warehouse.lock import writer_lock
    from warehouse.schemas import ensure_schemas_and_roles

    settings = get_settings()
    command = [dbt_executable(), *ctx.args, *dbt_project_args()]
    with writer_lock(settings, "carehouse dbt", on_wait=say_waiting):
        ensure_schemas_and_roles(settings)
        code = subprocess.call(command, env={**os.environ, **dbt_process_env(settings)})
    raise typer.Exit(code)
