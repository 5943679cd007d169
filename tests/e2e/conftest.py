"""The end-to-end scenario every e2e module reads: the daily job run three times.

Day 1 lands the initial extracts (two years of EHR history, the ADT day, the billing history
and the payer claim files that had arrived), day 1 again through the command line must
change nothing, then day 2 lands the increments. Package-scoped: the runs are the expensive
part, so the clinical, patient-flow and revenue-cycle modules share them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import psycopg
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.runner import PipelineRun, run_daily_pipeline
from orchestration.summary import WarehouseSummary, collect_summary
from warehouse.settings import Settings

DAY_1 = date(2025, 3, 1)
DAY_2 = date(2025, 3, 2)
PATIENTS = 600
SEED = 11


@dataclass
class Scenario:
    settings: Settings
    runs: dict[str, PipelineRun]
    summaries: dict[str, WarehouseSummary]
    cli_exit_code: int
    cli_output: str
    day1_decisions: dict[str, bool]


@pytest.fixture(scope="package")
def scenario(warehouse_settings: Settings) -> Iterator[Scenario]:
    runs: dict[str, PipelineRun] = {}
    summaries: dict[str, WarehouseSummary] = {}
    runs["day1"] = run_daily_pipeline(DAY_1, seed=SEED, patients=PATIENTS, settings=warehouse_settings)
    summaries["day1"] = collect_summary(warehouse_settings)
    day1_decisions = sampling_decisions(warehouse_settings)
    # the same day again, the way a user runs it: through the command line
    args = ["run", "--date", DAY_1.isoformat(), "--seed", str(SEED), "--patients", str(PATIENTS)]
    cli = CliRunner().invoke(app, args)
    summaries["day1_again"] = collect_summary(warehouse_settings)
    runs["day2"] = run_daily_pipeline(DAY_2, seed=SEED, patients=PATIENTS, settings=warehouse_settings)
    summaries["day2"] = collect_summary(warehouse_settings)
    yield Scenario(warehouse_settings, runs, summaries, cli.exit_code, cli.output, day1_decisions)


def sampling_decisions(settings: Settings) -> dict[str, bool]:
    return dict(query(settings, "select distinct sample_key, is_sampled from review.mart_chart_review"))


def query(settings: Settings, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(sql, params).fetchall()
