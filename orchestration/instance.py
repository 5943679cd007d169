"""The Dagster instance under the carehouse home, shared by ``carehouse run`` and ``carehouse ui``."""

from __future__ import annotations

import json
import os

from dagster import DagsterInstance

from warehouse.secret_files import private_dir
from warehouse.settings import Settings, get_settings

_HEADER = "# Written by carehouse"
_DAGSTER_YAML = """\
# Written by carehouse (rewritten when carehouse changes it). Runs, event logs and schedules
# live in this folder (sqlite), so the runs of `carehouse run` show up in `carehouse ui`.
telemetry:
  enabled: false
# Dagster's SQLite event log (same files), keeping its databases open while `carehouse run`
# runs: creating a run writes ~1,100 planned events, 12 s with a new connection per event, 2 s
# with this.
event_log_storage:
  module: orchestration.event_log
  class: PooledSqliteEventLogStorage
  config:
    dagster_home: {dagster_home}
# The daemon (`carehouse ui`) fails runs that never start or that run for longer than any run
# of this pipeline could; runs of `carehouse run` whose process died are failed by the next one.
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  max_runtime_seconds: 21600
  poll_interval_seconds: 120
# The ADT sensor ticks every 15 seconds: keep its history bounded.
retention:
  schedule:
    purge_after_days: 90
  sensor:
    purge_after_days:
      skipped: 1
      failure: 30
      success: 30
"""


def prepare_dagster_home(settings: Settings | None = None) -> str:
    """Create ``$CAREHOUSE_HOME/dagster`` with a dagster.yaml and export DAGSTER_HOME."""
    settings = settings or get_settings()
    home = settings.dagster_home
    private_dir(home)
    config = home / "dagster.yaml"
    # carehouse keeps its own file current and leaves one written by someone else alone (the
    # docker image brings its own)
    wanted = _DAGSTER_YAML.replace("{dagster_home}", json.dumps(str(home)))  # JSON is YAML
    current = config.read_text() if config.exists() else None
    if current is None or (current.startswith(_HEADER) and current != wanted):
        config.write_text(wanted)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


def carehouse_instance(settings: Settings | None = None) -> DagsterInstance:
    prepare_dagster_home(settings)
    return DagsterInstance.get()
