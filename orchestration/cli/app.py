"""What every ``carehouse`` command shares: the Typer apps, the console, common options."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console

from warehouse.settings import Settings

app = typer.Typer(
    help="carehouse: a dbt-centric ELT warehouse for healthcare operations data.", no_args_is_help=True
)
simulate_app = typer.Typer(
    help="Simulated source systems that write into the landing zone.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The warehouse database (embedded Postgres unless CAREHOUSE_DSN is set).", no_args_is_help=True
)
load_app = typer.Typer(
    help="Land new data of one source in bronze with dlt (without the rest of the pipeline).",
    no_args_is_help=True,
)
bench_app = typer.Typer(help="Benchmarks (figures go in the README).", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"carehouse {version('carehouse')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """carehouse: a dbt-centric ELT warehouse for healthcare operations data."""


app.add_typer(simulate_app, name="simulate")
app.add_typer(load_app, name="load")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")

console = Console()

DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Extract date YYYY-MM-DD (default: today, UTC).", show_default=False),
]
SeedOption = Annotated[int, typer.Option(help="Simulation seed: same seed and date give identical files.")]
PatientsOption = Annotated[int, typer.Option(help="Patients across both EHR systems.", min=10)]


def parse_date(value: str | None, param_hint: str = "--date") -> date:
    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2025-03-02", param_hint=param_hint) from None


def describe_target(settings: Settings) -> str:
    if settings.uses_embedded_server:
        return f"embedded Postgres in {settings.pgdata_dir}"
    # checks the server answers, so a wrong CAREHOUSE_DSN is one line before anything is printed
    settings.dsn  # noqa: B018
    facts = settings.connection_facts
    return f"Postgres at {facts.host}:{facts.port}/{facts.dbname} (CAREHOUSE_DSN)"


def say_waiting(message: str) -> None:
    console.print(f"[yellow]{message}[/]", highlight=False)


def print_landing_problems(problems) -> None:  # problems: Iterable[ingestion.landing_audit.BatchProblem]
    """Landing batches that were not (fully) loaded and why: file names and counts, no data."""
    for problem in problems:
        console.print(
            f"[red]landing batch problem:[/] {problem.batch_path} ({problem.status}): {problem.problems}",
            highlight=False,
            soft_wrap=True,
        )


def print_unmodeled(tables: dict[str, int]) -> None:
    """Bronze tables of resource types silver does not model yet: kept, counted, and said."""
    for table, rows in tables.items():
        console.print(
            f"[yellow]{rows:,} rows in bronze.{table}:[/] not modeled in silver yet", highlight=False
        )


def print_unloadable(folders: dict[str, str]) -> None:
    """Landing folders no loader may read (e.g. an EHR system not in the registry), with why."""
    for folder, why in folders.items():
        console.print(f"[yellow]not loaded:[/] {folder}: {why}", highlight=False, soft_wrap=True)
