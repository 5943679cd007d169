"""``carehouse load <source>``: one source into bronze, without the rest of the pipeline.

The ``python -m ingestion.<source>`` entry points run these same commands
(``orchestration.cli.run_command``), so every loader has one command-line implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.app import console, load_app, print_landing_problems, say_waiting
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


@load_app.command("ehr")
def load_ehr() -> None:
    """New complete EHR landing files (FHIR R4 NDJSON) into bronze.ehr__<resource>."""
    from ingestion.ehr.pipeline import load_ehr_to_bronze

    with _loading("ehr") as settings:
        result = load_ehr_to_bronze(
            settings, on_file=lambda entity, path: console.log(f"{entity}: {path.name}")
        )
    _summary(result)


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
