"""``carehouse status``: the last run, its checks, source freshness, rows per layer."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.table import Table

from orchestration.cli.app import app, console, describe_target, print_landing_problems
from warehouse.settings import get_settings


@app.command()
def status() -> None:
    """The last pipeline run (id, date, outcome, duration), its warned and failed checks, each
    source's freshness, rows per layer, the sample rate in force and open landing problems."""
    from orchestration.cli.run import print_check_outcomes
    from orchestration.instance import carehouse_instance
    from orchestration.status import warehouse_status

    settings = get_settings()
    with console.status("reading the warehouse…"):
        report = warehouse_status(settings, carehouse_instance(settings))
    console.print(f"[bold]carehouse[/] on {describe_target(settings)}")
    facts = Table(show_header=False, box=None)
    last = report.last_run
    if last is None:
        facts.add_row("last run", "none yet: `carehouse run` runs the pipeline")
    else:
        style = "green" if last.outcome.success else "red"
        started = f"{last.started_at:%Y-%m-%d %H:%M %Z}" if last.started_at else "not started"
        took = f", took {last.duration_s:,.0f} s" if last.duration_s is not None else ""
        facts.add_row(
            "last run",
            f"{last.outcome.run_id} for {last.extract_date or 'n/a'}: [{style}]{last.status.lower()}[/]"
            f" (started {started}{took})",
        )
    summary = report.summary
    facts.add_row(
        "rows per layer",
        ", ".join(
            f"{schema} {summary.layer_rows(schema):,}"
            for schema in ("bronze", "silver", "snapshots", "gold", "review")
        ),
    )
    facts.add_row(
        "chart-review sample",
        f"{report.sample_rate_pct}% of patients (`carehouse run --sample-rate N` changes it)",
    )
    now = datetime.now(UTC)
    for source in report.sources:
        loaded = source.last_loaded_at
        age = f"loaded {(now - loaded).total_seconds() / 3600:,.1f} h ago" if loaded else "never loaded"
        batch = f"batch {source.latest_batch}, " if source.latest_batch else ""
        facts.add_row(f"source {source.source}", batch + age)
    console.print(facts, highlight=False)
    if last is not None:
        print_check_outcomes(last.outcome)
    print_landing_problems(summary.landing_problems)
