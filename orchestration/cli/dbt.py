"""``carehouse dbt``: dbt against the configured warehouse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    from orchestration.dbt_project import DBT_PROJECT_DIR, dbt_process_env
    from warehouse.lock import writer_lock
    from warehouse.schemas import ensure_schemas_and_roles

    settings = get_settings()
    dbt = shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt") or "dbt"
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    with writer_lock(settings, "carehouse dbt", on_wait=say_waiting):
        ensure_schemas_and_roles(settings)
        code = subprocess.call([dbt, *ctx.args, *project], env={**os.environ, **dbt_process_env(settings)})
    raise typer.Exit(code)
