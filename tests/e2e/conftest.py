"""The end-to-end scenario every e2e module reads: the daily job run three times.

Day 1 lands the initial extracts (two years of EHR history, the ADT day, the billing history
and the payer claim files that had arrived), day 1 again through the command line must
change nothing, then day 2 lands the increments. The home keeps only the last two Dagster runs,
so the footprint on disk after each run shows whether anything outside the database grows.
Package-scoped: the runs are the expensive part, so the clinical, patient-flow and revenue-cycle
modules share them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from ingestion.ehr.registry import DEFAULT_REGISTRY_PATH, ENV_EHR_REGISTRY
from orchestration.cli import app
from orchestration.instance import carehouse_instance
from orchestration.runner import PipelineRun, run_daily_pipeline
from orchestration.summary import WarehouseSummary, collect_summary
from warehouse.settings import ENV_KEEP_RUNS, Settings

DAY_1 = date(2025, 3, 1)
DAY_2 = date(2025, 3, 2)
PATIENTS = 600
SEED = 11


KEEP_RUNS = 2  # Dagster runs the scenario's home keeps (CAREHOUSE_KEEP_RUNS)
# A third EHR that sends FHIR Bulk Data exports (tests/e2e/test_third_ehr_bulk_export.py): one
# entry added to the shipped registry, as a hospital would onboard it.
THIRD_EHR = {
    "name": "cerner",
    "arrives": "bulk_export",
    "description": "Hospital 8's EHR: FHIR Bulk Data exports (US Core R4 NDJSON).",
}


@dataclass
class Scenario:
    settings: Settings
    runs: dict[str, PipelineRun]
    summaries: dict[str, WarehouseSummary]
    cli_exit_code: int
    cli_output: str
    day1_decisions: dict[str, bool]
    # bytes of the files under the carehouse home outside pgdata and landing, after each run
    footprints: dict[str, int]
    # what the retention rules left after the last run (later tests may add runs of their own)
    kept_after_day2: dict[str, int]


def footprint(settings: Settings) -> int:
    """Bytes on disk under the carehouse home, the database and the landing zone left out."""
    skip = (settings.pgdata_dir, settings.landing_dir)
    return sum(
        path.stat().st_size
        for path in settings.home.rglob("*")
        if path.is_file() and not any(path.is_relative_to(root) for root in skip)
    )


@pytest.fixture(scope="package")
def scenario(warehouse_settings: Settings) -> Iterator[Scenario]:
    patch = pytest.MonkeyPatch()
    patch.setenv(ENV_KEEP_RUNS, str(KEEP_RUNS))
    patch.setenv(ENV_EHR_REGISTRY, str(registry_with_third_ehr(warehouse_settings)))
    settings = Settings.from_env()
    runs: dict[str, PipelineRun] = {}
    summaries: dict[str, WarehouseSummary] = {}
    footprints: dict[str, int] = {}
    runs["day1"] = run_daily_pipeline(DAY_1, seed=SEED, patients=PATIENTS, settings=settings)
    summaries["day1"] = collect_summary(settings)
    footprints["day1"] = footprint(settings)
    day1_decisions = sampling_decisions(settings)
    # the same day again, the way a user runs it: through the command line
    args = ["run", "--date", DAY_1.isoformat(), "--seed", str(SEED), "--patients", str(PATIENTS)]
    cli = CliRunner().invoke(app, args)
    summaries["day1_again"] = collect_summary(settings)
    footprints["day1_again"] = footprint(settings)
    runs["day2"] = run_daily_pipeline(DAY_2, seed=SEED, patients=PATIENTS, settings=settings)
    summaries["day2"] = collect_summary(settings)
    footprints["day2"] = footprint(settings)
    kept = {
        "dagster_runs": len(carehouse_instance(settings).get_run_records()),
        "dbt_folders": len(list(settings.dbt_runs_dir.iterdir())),
        "dlt_files": sum(1 for path in settings.dlt_pipelines_dir.rglob("*") if path.is_file()),
    }
    try:
        yield Scenario(settings, runs, summaries, cli.exit_code, cli.output, day1_decisions, footprints, kept)
    finally:
        patch.undo()


def registry_with_third_ehr(settings: Settings) -> Path:
    """A copy of the shipped EHR registry with :data:`THIRD_EHR` added: nothing else changes."""
    registry = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text())
    registry["systems"].append(THIRD_EHR)
    path = settings.home / "ehr_systems.yaml"
    path.write_text(yaml.safe_dump(registry, sort_keys=False))
    return path


def sampling_decisions(settings: Settings) -> dict[str, bool]:
    return dict(query(settings, "select distinct sample_key, is_sampled from review.mart_chart_review"))


def query(settings: Settings, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(sql, params).fetchall()
