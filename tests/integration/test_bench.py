"""`carehouse bench` on a real server: both loads land every row, the pipeline benchmark reports
every run and step; scratch databases dropped."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import psutil
import psycopg
import pytest
from rich.console import Console

from ingestion.billing.simulator.extracts import TRANSACTION_COLUMNS
from ingestion.feeds.config import load_config
from ingestion.landing import is_complete
from orchestration.bench import run_feeds_benchmark, run_ingest_benchmark, write_feed_bench_landing
from orchestration.bench_pipeline import SCRATCH_SUFFIX, report_lines, run_pipeline_benchmark
from warehouse.settings import Settings


def _no_scratch_database_left(settings: Settings) -> None:
    with psycopg.connect(settings.dsn) as conn:
        # this warehouse's scratch database only: another warehouse on the server may be benchmarking
        scratch = f"{settings.connection_facts.dbname}_bench"
        leftovers = conn.execute("select count(*) from pg_database where datname = %s", (scratch,))
        assert leftovers.fetchone()[0] == 0


def test_ingest_benchmark_times_both_loads_and_cleans_up(warehouse_settings: Settings) -> None:
    report = run_ingest_benchmark(warehouse_settings, rows=3_000)
    # the bench itself fails unless both the bronze load and the plain COPY land every row
    assert report.rows == 3_000
    assert report.bronze_s > 0 and report.copy_s > 0
    _no_scratch_database_left(warehouse_settings)


def test_feeds_benchmark_times_both_loads_and_cleans_up(warehouse_settings: Settings) -> None:
    # several batch folders, the last one short, as 1M rows in 200k files would be
    report = run_feeds_benchmark(warehouse_settings, rows=2_500, rows_per_file=1_000)
    # the bench itself fails unless bronze.billing__transactions and the plain COPY hold every row
    assert report.rows == 2_500
    assert report.bronze_s > 0 and report.copy_s > 0
    _no_scratch_database_left(warehouse_settings)


def test_feed_bench_files_follow_the_billing_contract(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, external_dsn=None, tenant="acme", environment="dev")
    files = write_feed_bench_landing(settings, rows=2_500, rows_per_file=1_000)
    feed = next(f for f in load_config().feeds if f.name == "athena.transactions")
    base = settings.landing_dir / "acme" / "dev"
    assert sorted(base.glob(feed.path)) == files and len({path.parent for path in files}) == 3
    assert all(is_complete(path.parent) for path in files)
    rows = [row for path in files for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines())]
    assert len(rows) == 2_500 and tuple(rows[0]) == TRANSACTION_COLUMNS
    assert {row["transaction_type"] for row in rows} == {"CHARGE", "ADJUSTMENT", "PAYMENT", "WRITE_OFF"}
    assert len({row["transaction_id"] for row in rows}) == 2_500
    charges = {row["transaction_id"]: row for row in rows if row["transaction_type"] == "CHARGE"}
    assert all(row["charge_id"] in charges for row in rows)
    # every charge line is settled: payments, adjustments and write-offs add up to the charge
    balance = {charge_id: float(row["amount"]) for charge_id, row in charges.items()}
    for row in rows:
        if row["transaction_type"] != "CHARGE":
            balance[row["charge_id"]] -= float(row["amount"])
    complete = [charge_id for charge_id in balance if int(charge_id) + 3 <= 2_500]
    assert all(abs(balance[charge_id]) < 0.005 for charge_id in complete)


@pytest.mark.slow
def test_pipeline_benchmark_reports_every_run_and_cleans_up(warehouse_settings: Settings) -> None:
    report = run_pipeline_benchmark(warehouse_settings, patients=20, days=1, console=Console(quiet=True))
    assert [run.kind for run in report.runs] == ["full", "incremental", "no change"]
    assert [run.day for run in report.runs] == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 2)]
    full, day, again = report.runs
    for run in report.runs:
        assert run.wall_s > 0 and run.database_bytes > 0 and run.home_bytes > 0
        # the steps' own durations fit in the run (the rest: loading definitions, the lock...)
        assert 0 < sum(step.seconds for step in run.steps.values()) <= run.wall_s
        assert run.steps["simulate"].seconds > 0 and run.steps["load"].seconds > 0
    # each run is a `carehouse run` child process: the tree's peak is more than this process's
    assert report.peak_rss_bytes > psutil.Process().memory_info().rss
    # every step reports rows: landed files, bronze loads, and the tables dbt built in the scratch
    # warehouse (counted there, not in the database this process's Dagster definitions know)
    for step in ("simulate", "load", "silver", "snapshots", "gold"):
        assert full.steps[step].rows > 0, step
    assert full.steps["silver"].seconds > 0 and full.steps["gold"].seconds > 0
    assert day.steps["load"].rows > 0  # the next day brings new lines
    assert again.steps["silver"].rows == 0 and again.steps["gold"].rows == 0  # nothing new: no rebuild
    lines = dict(line.split("=") for line in report_lines(report))
    assert float(lines["incremental_day_vs_full_ratio"]) == pytest.approx(day.wall_s / full.wall_s, abs=0.01)
    assert float(lines["no_change_vs_full_ratio"]) == pytest.approx(again.wall_s / full.wall_s, abs=0.01)
    with psycopg.connect(warehouse_settings.dsn) as conn:
        scratch = f"{warehouse_settings.connection_facts.dbname}_{SCRATCH_SUFFIX}"
        assert (
            conn.execute("select count(*) from pg_database where datname = %s", (scratch,)).fetchone()[0] == 0
        )
