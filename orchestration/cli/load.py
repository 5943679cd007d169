"""``carehouse load``: one source into bronze, without the rest of the pipeline."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestration.cli.app import (
    app,
    console,
    print_landing_problems,
    say_waiting,
)
from warehouse.settings import Settings, get_settings

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
    with writer_lock(settings, f"load {source}", on_wait=say_waiting):
        with console.status(f"loading {source} into bronze…"):
            _load(source, settings, base_url, config)
        from ingestion.landing_audit import open_problems

        print_landing_problems(open_problems(settings))


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
