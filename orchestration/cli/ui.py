"""``carehouse ui``: the Dagster UI and daemon."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Annotated

import typer

from orchestration.cli.app import (
    app,
    console,
)
from warehouse.settings import get_settings


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port for the Dagster UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Open the Dagster UI (and daemon, for the schedule) on the runs of `carehouse run`."""
    from orchestration.instance import prepare_dagster_home

    settings = get_settings()
    prepare_dagster_home(settings)
    settings.export_dbt_env()
    console.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    dagster = shutil.which("dagster") or "dagster"
    command = [dagster, "dev", "-m", "orchestration.definitions", "-h", host, "-p", str(port)]
    raise typer.Exit(subprocess.call(command))
