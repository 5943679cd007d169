"""``carehouse run``: the whole pipeline for one day, and what the warehouse then holds."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.app import (
    DateOption,
    PatientsOption,
    SeedOption,
    app,
    console,
    describe_target,
    parse_date,
    print_landing_problems,
    print_unloadable,
    print_unmodeled,
    say_waiting,
)
from warehouse.settings import get_settings


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


@app.command()
def run(
    extract_date: DateOption = None,
    seed: SeedOption = 42,
    patients: PatientsOption = 5000,
    sample_rate: Annotated[
        int | None,
        typer.Option(
            "--sample-rate",
            min=0,
            max=100,
            help="Make this the chart-review sample rate (percent of patients) from this run on;"
            " recorded in the warehouse (default: keep the rate in force).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Stream dbt's and Dagster's logs to the terminal too.")
    ] = False,
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="Level of Dagster's log in the run's log file.")
    ] = LogLevel.INFO,
    full_check: Annotated[
        bool,
        typer.Option(
            "--full-check",
            help="Build every dbt model and test every row (the weekly scheduled check); daily runs"
            " rebuild only what new data reaches and test only new rows.",
        ),
    ] = False,
    run_id: Annotated[
        str | None,
        typer.Option(hidden=True, help="Dagster run id to use (the pipeline benchmark follows it)."),
    ] = None,
) -> None:
    """Run the whole pipeline for one day as a Dagster run of daily_pipeline and print what the
    warehouse holds.

    The first run on an empty landing zone lands the EHR's initial full extract (two years of
    history); later dates land that day's incremental extract on top. The terminal shows one
    line per layer; dbt's and Dagster's full logs go to $CAREHOUSE_HOME/logs/<run id>.log.
    """
    day = parse_date(extract_date)
    settings = get_settings()
    with console.status("starting the warehouse…"):
        settings.dsn  # noqa: B018 - starts the embedded server, or fails in one line, first
        target = describe_target(settings)
    console.print(f"[bold]carehouse run[/] for {day} on {target}")
    # Dagster and dbt load only now: a mistake above costs no import time
    from dagster._core.utils import make_new_run_id

    from orchestration.instance import carehouse_instance
    from orchestration.progress import RunWatcher
    from orchestration.run_log import captured_output, prune_run_logs, run_log_path
    from orchestration.runner import run_daily_pipeline
    from orchestration.summary import collect_summary

    run_id = run_id or make_new_run_id()
    log_path = run_log_path(settings, run_id)
    prune_run_logs(settings, keep=settings.keep_runs - 1)
    started = time.monotonic()
    terminal = Console(file=sys.stdout)  # the live view keeps the terminal while output is captured
    with (
        RunWatcher(carehouse_instance(settings), run_id, terminal),
        captured_output(log_path, echo=verbose),
    ):
        result = run_daily_pipeline(
            day,
            seed=seed,
            patients=patients,
            settings=settings,
            log_level=log_level.value,
            sample_rate_pct=sample_rate,
            run_id=run_id,
            on_wait=say_waiting,
            full_check=full_check,
        )
    elapsed = time.monotonic() - started
    _print_summary(collect_summary(settings), tables=verbose)
    outcome = "[green]succeeded[/]" if result.success else "[red]failed[/]"
    console.print(
        f"Dagster run [cyan]{result.run_id}[/] {outcome} in {elapsed:,.0f} s (`carehouse ui` shows it)"
    )
    console.print(f"full log: {log_path}", highlight=False, soft_wrap=True)
    print_check_outcomes(result)
    if not result.success:
        console.print("[red]Run failed.[/] Failed steps:")
        for failure in result.failed_steps:
            console.print(f"  {failure}", markup=False, highlight=False)
        raise typer.Exit(1)


def _print_summary(summary, *, tables: bool) -> None:  # summary: orchestration.summary.WarehouseSummary
    if tables:
        table = Table(title="carehouse warehouse")
        for column, justify in (("layer", "left"), ("table", "left"), ("rows", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for item in summary.tables:
            table.add_row(item.schema, item.table, f"{item.rows:,}")
        console.print(table)
    totals = Table(show_header=False, box=None)
    totals.add_row(
        "rows per layer",
        ", ".join(
            f"{schema} {summary.layer_rows(schema):,}"
            for schema in ("bronze", "silver", "snapshots", "gold", "review")
        ),
    )
    totals.add_row("rejected landing lines", f"{summary.rejected_lines:,}")
    totals.add_row("rows quarantined", f"{summary.quarantined_rows:,}")
    totals.add_row(
        "encounters sampled for review",
        f"{summary.sampled_encounters:,} of {summary.review_encounters:,}"
        f" ({summary.sampled_patients:,} patients)",
    )
    if summary.ar_as_of is not None:
        days = "n/a" if summary.days_in_ar is None else f"{summary.days_in_ar:.1f}"
        totals.add_row(
            "accounts receivable",
            f"${summary.ar_outstanding:,.2f} outstanding on {summary.ar_as_of}, {days} days in AR",
        )
    if summary.adherence_measures:
        share = summary.adherent_measures / summary.adherence_measures
        totals.add_row(
            "medication adherence",
            f"{share:.1%} of {summary.adherence_measures:,} patient drug classes at PDC >= 80%"
            f" in {summary.adherence_year}",
        )
    if summary.pmpm_12m is not None:
        totals.add_row(
            "cost per member per month",
            f"${summary.pmpm_12m:,.2f} (medical + pharmacy, 12 months to {summary.pmpm_through:%Y-%m})",
        )
    console.print(totals)
    print_landing_problems(summary.landing_problems)
    print_unmodeled(summary.unmodeled_tables)
    print_unloadable(summary.unloadable_ehr_folders)
    _print_unclaimed_folders()


def _print_unclaimed_folders() -> None:
    """Landing folders no feed loads (e.g. a payer not onboarded yet): expected, and said once."""
    from ingestion.feeds.config import load_config
    from ingestion.feeds.discovery import unclaimed_folders

    unclaimed = unclaimed_folders(load_config(), get_settings())
    if unclaimed:
        folders = ", ".join(f"{folder} ({count:,} files)" for folder, count in unclaimed.items())
        console.print(
            f"[yellow]not loaded:[/] {folders}: no feed of the load config claims these folders"
            " (a sender not onboarded yet; one entry in ingestion/load_config.yaml loads them)",
            highlight=False,
            soft_wrap=True,
        )


def print_check_outcomes(result) -> None:  # result: orchestration.runner.PipelineRun
    """Warned and failed checks, each with what it means (its description) on one line."""
    from orchestration.runner import check_descriptions

    descriptions = check_descriptions()
    for label, names, style in (
        ("warned (reported, not blocking)", result.warned_checks, "yellow"),
        ("failed (blocking: nothing downstream was built)", result.failed_checks, "red"),
    ):
        if not names:
            continue
        console.print(f"[{style}]{len(names)} check(s) {label}:[/]")
        for name in names:
            meaning = descriptions.get(name) or ""
            console.print(f"  {name}" + (f": {meaning}" if meaning else ""), markup=False, highlight=False)
