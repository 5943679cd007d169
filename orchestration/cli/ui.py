"""``carehouse ui``: the Dagster UI and daemon."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
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
    from warehouse.embedded import port_is_free

    # Before anything starts: `dagster dev` would start its daemon and only then find the port
    # taken, leaving a second daemon running the schedule beside the first UI's.
    if not port_is_free(port, host):
        console.print(
            f"[red]error:[/] {host}:{port} is in use (is `carehouse ui` already running?); "
            "choose another with --port",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    settings = get_settings()
    settings.dsn  # noqa: B018 - starts the embedded server; an unreachable CAREHOUSE_DSN is one line now
    prepare_dagster_home(settings)
    settings.export_dbt_env()
    console.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    # beside the running Python first, as for dbt: PATH lacks an unactivated virtualenv's bin
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or shutil.which("dagster")
    workspace = _write_workspace(settings.dagster_home)
    command = [dagster or "dagster", "dev", "-w", str(workspace), "-h", host, "-p", str(port)]
    raise typer.Exit(subprocess.call(command))


def _write_workspace(dagster_home: Path) -> Path:
    """The code location under the name ``carehouse run`` records on its runs (as in docker),
    so the UI finds their job to show and re-execute."""
    import yaml

    from orchestration.runner import CODE_LOCATION_NAME, DEFINITIONS_MODULE, PROJECT_ROOT

    location = {
        "module_name": DEFINITIONS_MODULE,
        "attribute": "defs",
        "working_directory": str(PROJECT_ROOT),
        "location_name": CODE_LOCATION_NAME,
    }
    path = dagster_home / "workspace.yaml"
    path.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
    return path
