"""The dlt pipeline that appends the ADT stream's micro-batches to bronze."""

from __future__ import annotations

from collections.abc import Callable

import dlt

from ingestion.adt.bronze import EVENTS_TABLE, FILE_LOG_TABLE, REJECTED_TABLE, adt_bronze_source
from ingestion.bronze_loads import LoadResult, bronze_load, normalized_rows
from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, bronze_pipeline
from warehouse.settings import Settings, get_settings

PIPELINE_NAME = "carehouse_adt"


def adt_pipeline(settings: Settings | None = None, *, with_credentials: bool = True) -> dlt.Pipeline:
    return bronze_pipeline(PIPELINE_NAME, settings, with_credentials=with_credentials)


def load_adt_to_bronze(
    settings: Settings | None = None, on_wait: Callable[[str], None] | None = None
) -> LoadResult:
    """Append every new verified micro-batch (each file's log row counts the files)."""
    settings = settings or get_settings()
    with bronze_load(adt_pipeline(settings), settings, on_wait=on_wait) as pipeline:
        info = pipeline.run(adt_bronze_source(lambda: settings), loader_file_format=LOADER_FILE_FORMAT)
        info.raise_on_failed_jobs()
        counts = normalized_rows(pipeline)
    return LoadResult(
        source="adt",
        files=counts.get(FILE_LOG_TABLE, 0),
        rows_by_table={EVENTS_TABLE: counts.get(EVENTS_TABLE, 0)},
        rejected_rows=counts.get(REJECTED_TABLE, 0),
    )
