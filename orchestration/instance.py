"""The Dagster instance under the carehouse home, shared by ``carehouse run`` and ``carehouse ui``."""

from __future__ import annotations

import os

from dagster import DagsterInstance

from warehouse.settings import Settings, get_settings

_DAGSTER_YAML = """\
# Written by carehouse. Runs, event logs and schedules live in this folder (sqlite), so the
# runs of `carehouse run` show up in `carehouse ui`.
telemetry:
  enabled: false
"""


def prepare_dagster_home(settings: Settings | None = None) -> str:
    """Create ``$CAREHOUSE_HOME/dagster`` with a dagster.yaml and export DAGSTER_HOME."""
    settings = settings or get_settings()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


def carehouse_instance(settings: Settings | None = None) -> DagsterInstance:
    prepare_dagster_home(settings)
    return DagsterInstance.get()
