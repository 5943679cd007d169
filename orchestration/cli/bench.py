"""``carehouse bench``: benchmarks, each a ratio against a plain baseline measured in the same run."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestration.cli.app import (
    bench_app,
    console,
    parse_date,
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


@bench_app.command("pipeline")
def bench_pipeline(
    patients: Annotated[int, typer.Option(help="Patients across both EHR systems.", min=10)] = 5000,
    days: Annotated[int, typer.Option(help="Incremental days after the first run.", min=1)] = 1,
    start_date: Annotated[
        str, typer.Option("--start-date", help="Date of the first, full-history run (YYYY-MM-DD).")
    ] = "2025-03-01",
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 42,
) -> None:
    """Build a fresh warehouse (scratch database and home, removed afterwards) with the daily
    pipeline: the first run on the start date (full history), then DAYS incremental days, then
    the last day again with nothing new. Prints each run's and step's time and rows, peak RSS of
    the process tree (dbt included), database and carehouse home size, and the ratios."""
    start = parse_date(start_date, param_hint="--start-date")
    settings = get_settings()
    import psycopg

    from orchestration.bench_pipeline import report_lines, run_pipeline_benchmark

    try:
        report = run_pipeline_benchmark(
            settings, patients=patients, days=days, start_date=start, seed=seed, console=console
        )
    except (RuntimeError, psycopg.Error) as exc:
        # e.g. a failed run, or another benchmark still using the scratch database
        message = str(exc).strip().splitlines()[0]
        console.print(f"[red]benchmark failed:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for line in report_lines(report):
        typer.echo(line)
