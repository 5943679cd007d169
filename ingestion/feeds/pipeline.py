"""The dlt pipeline that appends the CSV feeds of the load config to bronze."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import dlt

from ingestion.bronze_loads import LoadResult, SchemaChange, bronze_load
from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, bronze_pipeline, extracted_rows
from ingestion.feeds.bronze import FileReport, feeds_bronze_source
from ingestion.feeds.config import LoadConfig, feed_tables, load_config
from ingestion.feeds.discovery import unclaimed_folders
from warehouse.settings import Settings, get_settings

PIPELINE_NAME = "carehouse_feeds"

log = logging.getLogger(__name__)


def feeds_pipeline(settings: Settings | None = None, *, with_credentials: bool = True) -> dlt.Pipeline:
    """The feeds bronze pipeline (see :func:`ingestion.bronze_pipeline.bronze_pipeline`)."""
    return bronze_pipeline(PIPELINE_NAME, settings, with_credentials=with_credentials)


def load_feeds_to_bronze(
    settings: Settings | None = None,
    config_path: Path | str | None = None,
    on_file: Callable[[FileReport], None] | None = None,
    *,
    config: LoadConfig | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> LoadResult:
    """Append every new file of a complete batch of every active feed to bronze."""
    settings = settings or get_settings()
    config = config or load_config(config_path)
    files: list[FileReport] = []

    def record(report: FileReport) -> None:
        files.append(report)
        if on_file is not None:
            on_file(report)

    with bronze_load(feeds_pipeline(settings), settings, on_wait=on_wait) as pipeline:
        source = feeds_bronze_source(lambda: settings, config, on_file=record)
        info = pipeline.run(source, loader_file_format=LOADER_FILE_FORMAT)
        info.raise_on_failed_jobs()
        counts = extracted_rows(pipeline) if files else {}
    return LoadResult(
        source="feeds",
        files=len(files),
        rows_by_table={table: counts.get(table, 0) for table in feed_tables(config, include_audit=False)},
        rejected_rows=sum(report.rows_rejected for report in files),
        schema_changes=tuple(
            SchemaChange(report.source_file, report.columns_added, report.columns_missing)
            for report in files
            if report.schema_changed
        ),
        unclaimed_folders=report_unclaimed_folders(config, settings),
        skipped_feeds=tuple(feed.name for feed in config.inactive_feeds),
    )


def report_unclaimed_folders(
    config: LoadConfig, settings: Settings, logger: logging.Logger = log
) -> dict[str, int]:
    """Warn about landing folders no feed claims, so unloaded files are never a silent drop
    (``logger``: the Dagster asset passes its run log)."""
    unclaimed = unclaimed_folders(config, settings)
    for folder, count in unclaimed.items():
        logger.warning("%s: %d complete file(s) no feed of the load config claims, not loaded", folder, count)
    return unclaimed
