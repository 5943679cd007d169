"""``carehouse bench``: benchmarks, each a ratio against a plain baseline measured in the same run."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestration.cli.app import (
    bench_app,
    console,
)
from warehouse.settings import get_settings


@bench_app.command("ingest")
def bench_ingest(
    rows: Annotated[int, typer.Option(help="Encounter lines to load.", min=1000)] = 1_000_000,
) -> None:
    """Time the dlt bronze load against a plain COPY of the same NDJSON into a jsonb table."""
    from orchestration.bench import run_ingest_benchmark

    report = run_ingest_benchmark(get_settings(), rows=rows, console=console)
    console.print(
        f"bronze load (dlt, Arrow → COPY): {report.bronze_rows_per_s:,.0f} rows/s ({report.bronze_s:.1f} s)"
    )
    console.print(
        f"plain COPY into jsonb:           {report.copy_rows_per_s:,.0f} rows/s ({report.copy_s:.1f} s)"
    )
    typer.echo(f"bronze_load_vs_copy_ratio={report.ratio:.2f}")


@bench_app.command("feeds")
def bench_feeds(
    rows: Annotated[int, typer.Option(help="Billing transaction rows to load.", min=1000)] = 1_000_000,
) -> None:
    """Time the CSV feed loader (default load config) against a plain COPY of the same CSV files."""
    from orchestration.bench import run_feeds_benchmark

    report = run_feeds_benchmark(get_settings(), rows=rows, console=console)
    console.print(
        f"feeds load (dlt, Arrow → COPY):  {report.bronze_rows_per_s:,.0f} rows/s ({report.bronze_s:.1f} s)"
    )
    console.print(
        f"plain COPY into 16 text columns: {report.copy_rows_per_s:,.0f} rows/s ({report.copy_s:.1f} s)"
    )
    typer.echo(f"feeds_load_vs_copy_ratio={report.ratio:.2f}")
