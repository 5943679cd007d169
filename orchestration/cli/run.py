"""``carehouse run``: the whole pipeline for one day, and what the warehouse then holds."""

from __future__ import annotations

from typing import Annotated

import typer
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
    say_waiting,
)
from warehouse.settings import get_settings


@app.command()
def run(
    extract_date: DateOption = None,
    seed: SeedOption = 42,
    patients: PatientsOption = 5000,
    log_level: Annotated[str, typer.Option(help="Dagster console log level.")] = "INFO",
) -> None:
    """Run the whole pipeline for one day as a Dagster job and print what the warehouse holds.

    The first run on an empty landing zone lands the EHR's initial full extract (two years of
    history); later dates land that day's incremental extract on top.
    """
    from orchestration.runner import run_daily_pipeline
    from orchestration.summary import collect_summary

    day = parse_date(extract_date)
    settings = get_settings()
    console.print(f"[bold]carehouse run[/] for {day} on {describe_target(settings)}")
    with console.status("Starting the warehouse and loading the Dagster definitions…"):
        settings.dsn  # noqa: B018 - starts the embedded server before Dagster's logs begin
    result = run_daily_pipeline(
        day, seed=seed, patients=patients, settings=settings, log_level=log_level, on_wait=say_waiting
    )
    _print_summary(collect_summary(settings))
    console.print(f"Dagster run [cyan]{result.run_id}[/] (see it with `carehouse ui`)")
    if result.warned_checks:
        console.print(f"[yellow]Checks with warnings:[/] {', '.join(result.warned_checks)}")
    if not result.success:
        console.print("[red]Run failed.[/] Failed steps:")
        for failure in result.failed_steps:
            console.print(f"  {failure}", markup=False, highlight=False)
        if result.failed_checks:
            console.print(f"Failed checks: {', '.join(result.failed_checks)}")
        raise typer.Exit(1)


def _print_summary(summary) -> None:  # summary: orchestration.summary.WarehouseSummary
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
