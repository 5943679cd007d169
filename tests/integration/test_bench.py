"""`carehouse bench ingest` on a real server: both loads land every row, scratch database dropped."""

from __future__ import annotations

import psycopg

from orchestration.bench import run_ingest_benchmark
from warehouse.settings import Settings


def test_ingest_benchmark_times_both_loads_and_cleans_up(warehouse_settings: Settings) -> None:
    report = run_ingest_benchmark(warehouse_settings, rows=3_000)
    # the bench itself fails unless both the bronze load and the plain COPY land every row
    assert report.rows == 3_000
    assert report.bronze_s > 0 and report.copy_s > 0
    with psycopg.connect(warehouse_settings.dsn) as conn:
        leftovers = conn.execute("select count(*) from pg_database where datname like '%\\_bench'")
        assert leftovers.fetchone()[0] == 0
