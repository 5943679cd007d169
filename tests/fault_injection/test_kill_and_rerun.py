"""``carehouse run`` killed with SIGKILL mid-load and in each dbt step, then run again, leaves
every table of bronze, silver, snapshots, gold and review exactly as one clean run of the same
day and seed. Slow (five pipeline runs): marked ``fault_injection``, which ``pytest`` skips and
``.ci/run`` runs once, against the machine's PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from ingestion.ehr.pipeline import PIPELINE_NAME
from tests.conftest import scratch_database
from tests.faults import folder_has, kill_when, run_cli, session_running, start_cli
from tests.warehouse_state import differences, warehouse_state
from warehouse.settings import Settings

pytestmark = pytest.mark.fault_injection

DAY = date(2025, 3, 1)
RUN = ("run", "--date", DAY.isoformat(), "--patients", "30", "--seed", "7")


@pytest.fixture(scope="module")
def clean_run(
    warehouse_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Counter[str]]]:
    """Every table after one clean ``carehouse run`` of the day."""
    with scratch_database(warehouse_settings, "faults_clean", tmp_path_factory.mktemp("clean")) as settings:
        done = run_cli(settings, *RUN)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield warehouse_state(settings.dsn)


def test_carehouse_run_killed_anywhere_then_rerun_equals_a_clean_run(
    warehouse_settings: Settings, clean_run: dict[str, Counter[str]], tmp_path: Path
) -> None:
    with scratch_database(warehouse_settings, "faults_killed", tmp_path / "home") as settings:
        working = settings.dlt_pipelines_dir / PIPELINE_NAME
        kill_points = {
            "the EHR load, normalizing": folder_has(working, "load/new/*"),
            # dbt's own sessions say which step runs: a silver model, a snapshot, a gold fact
            "dbt_silver": session_running(settings.dsn, "dbt", '%create%"silver"."int_%'),
            "dbt_snapshots": session_running(settings.dsn, "dbt", '%"snapshots"."snap_%'),
            "dbt_gold": session_running(settings.dsn, "dbt", '%create%"gold"."fct_%'),
        }
        for point, reached in kill_points.items():
            kill = kill_when(start_cli(settings, *RUN), reached)
            assert kill.killed, f"carehouse run ended before {point}:\n{kill.output[-3000:]}"
        done = run_cli(settings, *RUN)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        found = differences(clean_run, warehouse_state(settings.dsn))
        assert found == {}, found
        # the runs that were killed are failed in Dagster, not STARTED forever
        instance = DagsterInstance.from_config(str(settings.dagster_home))
        statuses = Counter(record.dagster_run.status for record in instance.get_run_records())
        assert statuses == {DagsterRunStatus.FAILURE: len(kill_points), DagsterRunStatus.SUCCESS: 1}, statuses
