"""``carehouse load <source>``: one source into bronze, without the rest of the pipeline.

The ``python -m ingestion.<source>`` entry points run these same commands
(``orchestration.cli.run_command``), so every loader has one command-line implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from orchestration.cli.app import (
    console,
    load_app,
    print_landing_problems,
    print_unloadable,
    print_unmodeled,
    say_waiting,
)
from warehouse.settings import Settings, get_settings

DEFAULT_EHR_API_URL = "http://127.0.0.1:8090"


@contextmanager
def _loading(source: str) -> Iterator[Settings]:
    """The writer lock for the whole command (the landing-problem report reads what the load
    wrote), then the landing batches that were not (fully) loaded and why."""
    from warehouse.lock import writer_lock

    settings = get_settings()
    with writer_lock(settings, f"load {source}", on_wait=say_waiting):
        with console.status(f"loading {source} into bronze…"):
            yield settings
        from ingestion.landing_audit import open_problems

        print_landing_problems(open_problems(settings))


def _summary(result, unit: str = "file") -> None:  # result: ingestion.bronze_loads.LoadResult
    rejected = f", {result.rejected_rows:,} rejected" if result.rejected_rows else ""
    console.print(f"{result.files} new {unit}(s), {result.rows:,} rows into bronze{rejected}")


def _ehr_registry():  # -> ingestion.ehr.registry.EhrRegistry, or one line and exit 1
    from ingestion.ehr.registry import RegistryError, load_ehr_registry

    try:
        return load_ehr_registry()
    except RegistryError as exc:
        _fail(exc)


def _fail(exc: Exception) -> NoReturn:
    """A user's mistake in carehouse's one-line error style (see orchestration.cli.main)."""
    console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _load_ehr_files(source: str, registry) -> None:  # registry: ingestion.ehr.registry.EhrRegistry
    """Load the registered systems' new EHR landing files, then say what silver does not model
    yet and which landing folders were not loaded, and why."""
    from ingestion.ehr.bronze import unmodeled_tables
    from ingestion.ehr.pipeline import load_ehr_to_bronze

    with _loading(source) as settings:
        result = load_ehr_to_bronze(
            settings, on_file=lambda entity, path: console.log(f"{entity}: {path.name}"), registry=registry
        )
    _summary(result)
    print_unmodeled(unmodeled_tables(settings))
    print_unloadable(result.unloadable_folders)


@load_app.command("ehr")
def load_ehr() -> None:
    """New complete EHR landing files (FHIR R4 NDJSON) into bronze.ehr__<resource>.

    Every system of the EHR registry (ingestion/ehr_systems.yaml, or CAREHOUSE_EHR_REGISTRY),
    every resource type: types silver does not model yet land too, and are reported. Folders of
    systems the registry does not list are reported and not loaded.
    """
    _load_ehr_files("ehr", _ehr_registry())


@load_app.command("fhir-bulk")
def load_fhir_bulk(
    path: Annotated[
        Path,
        typer.Argument(help="The export folder (see above).", metavar="PATH", show_default=False),
    ],
    system: Annotated[
        str,
        typer.Option(
            "--system",
            help="The EHR system the export comes from: a name in the EHR registry"
            " (ingestion/ehr_systems.yaml, or CAREHOUSE_EHR_REGISTRY).",
            show_default=False,
        ),
    ],
) -> None:
    """Stage a FHIR Bulk Data export folder as landing batches of SYSTEM, then load it into bronze.

    A Bulk Data export folder is what a FHIR server's $export delivers: NDJSON files named
    <ResourceType>.<n>.ndjson or .ndjson.gz (Patient.000.ndjson, Encounter.000.ndjson.gz, ...),
    with or without the completion manifest (a JSON file, usually manifest.json, with
    transactionTime, request, output[] and error[]). The manifest's counts are checked; its
    error[] files (OperationOutcome) land too. Without it, the newest file time stands in for
    the export's transactionTime. Each type becomes one landing batch
    {system}/{type}/{transactionTime}; staging the same export again changes nothing.
    """
    from ingestion.ehr.bulk_export import BulkExportError, stage_bulk_export
    from ingestion.ehr.registry import UnknownEhrSystem

    registry = _ehr_registry()
    try:
        staged = stage_bulk_export(get_settings(), path, system)
    except (UnknownEhrSystem, BulkExportError) as exc:
        _fail(exc)
    when = "inferred from the newest file time" if staged.transaction_time_inferred else "transactionTime"
    state = "already staged" if staged.already_staged else "staged"
    console.print(
        f"{state}: batch {staged.batch_id} of {system} ({staged.transaction_time}, {when})", highlight=False
    )
    for entity, lines in staged.lines_by_entity.items():
        console.print(f"  {entity}: {lines:,} lines", highlight=False)
    _load_ehr_files("fhir-bulk", registry)


@load_app.command("ehr-api")
def load_ehr_api(
    base_url: Annotated[str, typer.Option(help="Root of the EHR FHIR API.")] = DEFAULT_EHR_API_URL,
) -> None:
    """Every EHR resource changed since the last API load, from the FHIR API.

    OAuth2 client credentials come from dlt secrets or CAREHOUSE_EHR_API_CLIENT_ID / _SECRET,
    never from the command line.
    """
    from ingestion.ehr.api.pipeline import load_ehr_api_to_bronze

    with _loading("ehr-api") as settings:
        result = load_ehr_api_to_bronze(settings, base_url)
    _summary(result, unit="page")


@load_app.command("adt")
def load_adt() -> None:
    """New complete ADT micro-batches into bronze.adt__events, exactly once."""
    from ingestion.adt.pipeline import load_adt_to_bronze

    with _loading("adt") as settings:
        result = load_adt_to_bronze(settings)
    _summary(result)


@load_app.command("feeds")
def load_feeds(
    config: Annotated[
        Path | None,
        typer.Option(
            help="Load config YAML (default: CAREHOUSE_LOAD_CONFIG, else ingestion/load_config.yaml)."
        ),
    ] = None,
) -> None:
    """New files of every active CSV feed of the load config into bronze.

    Billing extracts, payer claim, pharmacy and eligibility files (ingestion/load_config.yaml).
    """
    from ingestion.feeds.config import LoadConfigError, load_config
    from ingestion.feeds.pipeline import load_feeds_to_bronze

    try:  # a bad config is the user's mistake: say so before starting the database
        feeds = load_config(config)
    except LoadConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    for feed in feeds.inactive_feeds:
        console.print(f"[dim]{feed.name}: inactive, skipped[/]")
    with _loading("feeds") as settings:
        result = load_feeds_to_bronze(settings, config=feeds, on_file=_show_feed_file)
    for table, rows in result.rows_by_table.items():
        if rows:
            console.print(f"  {table}: {rows:,} rows")
    _summary(result)
    for change in result.schema_changes:
        added, missing = ", ".join(change.columns_added) or "-", ", ".join(change.columns_missing) or "-"
        console.print(
            f"[yellow]columns changed:[/] {change.source_file}: added {added}, missing {missing}",
            highlight=False,
        )
    for folder, count in result.unclaimed_folders.items():
        console.print(f"[yellow]not loaded:[/] {folder}: {count} file(s) that no feed claims")


def _show_feed_file(report) -> None:  # report: ingestion.feeds.file_log.FileReport
    rejected = f", [yellow]{report.rows_rejected:,} rejected[/]" if report.rows_rejected else ""
    console.log(f"{report.feed}: {report.source_file} ({report.rows_loaded:,} rows{rejected})")


@load_app.command("reference")
def load_reference() -> None:
    """The ICD-10-CM classification from the simple-icd-10-cm package (only when its release changed)."""
    from ingestion.reference.icd10_cm import load_reference_to_bronze

    with _loading("reference") as settings:
        result = load_reference_to_bronze(settings)
    console.print(f"{result.rows:,} ICD-10-CM rows into bronze")


@load_app.command("ehr-bulk")
def load_ehr_bulk(
    system: Annotated[str, typer.Option("--system", help="The EHR system to export.", show_default=False)],
    base_url: Annotated[
        str | None,
        typer.Option(
            help="The system's FHIR base URL (default: the registry's fhir_base_url, else the"
            " simulated API's http://127.0.0.1:8090/{system}/fhir).",
            show_default=False,
        ),
    ] = None,
    token_url: Annotated[
        str | None,
        typer.Option(
            help="Token endpoint (default: the registry's, else SMART discovery).", show_default=False
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            help="Backend client id (default: the registry's, else the dev client).", show_default=False
        ),
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="Export Group/{id} instead of the whole system.", show_default=False)
    ] = None,
    types: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Resource types, comma-separated (default: the registry's, else all).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Export what changed after this instant (default: the previous export's transactionTime).",
            show_default=False,
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Export everything, ignoring earlier exports.")
    ] = False,
) -> None:
    """Run a FHIR Bulk Data $export of SYSTEM (SMART Backend Services auth), stage it and load it.

    The private key (PEM) comes from CAREHOUSE_EHR_BULK_PRIVATE_KEY,
    CAREHOUSE_EHR_BULK_PRIVATE_KEY_FILE or .dlt/secrets.toml (sources.ehr_bulk.private_key),
    never from the command line; without one, the carehouse home's development key pair
    (which `carehouse simulate ehr-api` registers). The previous export's transactionTime is
    kept in bronze.ehr__bulk_exports.
    """
    import requests

    from ingestion.ehr.api.bulk_client import BulkExportError
    from ingestion.ehr.api.bulk_keys import DEV_BULK_CLIENT_ID, BulkKeyError, resolve_signing_key
    from ingestion.ehr.api.bulk_load import load_ehr_bulk_to_bronze
    from ingestion.ehr.api.index import instant_us

    if since is not None and full:
        raise typer.BadParameter("give --since or --full, not both", param_hint="--since")
    if since is not None and ("T" not in since or instant_us(since) is None):
        raise typer.BadParameter(
            f"{since!r} is not an instant like 2025-03-01T00:00:00Z", param_hint="--since"
        )

    from ingestion.ehr.bronze import unmodeled_tables
    from ingestion.ehr.registry import UnknownEhrSystem

    registry = _ehr_registry()
    try:
        entry = registry.get(system)
    except UnknownEhrSystem as exc:  # one line naming the registry file
        _fail(exc)
    type_list = [t.strip() for t in types.split(",") if t.strip()] if types else list(entry.types)
    settings = get_settings()
    try:
        key = resolve_signing_key(settings.home)
    except BulkKeyError as exc:
        _fail(exc)
    with _loading("ehr-bulk") as settings:
        try:
            result = load_ehr_bulk_to_bronze(
                settings,
                system,
                fhir_base=base_url or entry.fhir_base_url or f"{DEFAULT_EHR_API_URL}/{system}/fhir",
                client_id=client_id or entry.client_id or DEV_BULK_CLIENT_ID,
                key=key,
                token_url=token_url or entry.token_url,
                group_id=group or entry.group_id,
                types=type_list,
                since=since,
                full=full,
            )
        except BulkExportError as exc:
            _fail(exc)
        except requests.RequestException as exc:
            _fail(f"the FHIR server is unreachable ({type(exc).__name__})")
    export, since_text = result.export, result.since or "the beginning"
    console.print(
        f"export of {system} since {since_text}: transactionTime {export.transaction_time},"
        f" {len(export.files)} file(s), {export.resources:,} resources"
        + (f"; batch {result.batch_id}" if result.batch_id else "; nothing to stage"),
        highlight=False,
    )
    _summary(result.load)
    print_unmodeled(unmodeled_tables(settings))
    print_unloadable(result.load.unloadable_folders)
