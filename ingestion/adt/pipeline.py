"""The dlt pipeline that appends the ADT stream's micro-batches to bronze."""

from __future__ import annotations

import dlt

from ingestion.adt.bronze import EVENTS_TABLE, REJECTED_TABLE, adt_bronze_source
from ingestion.bronze_loads import bronze_load
from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, bronze_pipeline
from warehouse.settings import Settings, get_settings

PIPELINE_NAME = "carehouse_adt"


def adt_pipeline(settings: Settings | None = None, *, with_credentials: bool = True) -> dlt.Pipeline:
    return bronze_pipeline(PIPELINE_NAME, settings, with_credentials=with_credentials)


def load_adt_to_bronze(settings: Settings | None = None) -> dict[str, int]:
    """Append every new verified micro-batch; returns rows per table (events, rejected lines)."""
    settings = settings or get_settings()
    with bronze_load(adt_pipeline(settings), settings) as pipeline:
        info = pipeline.run(adt_bronze_source(lambda: settings), loader_file_format=LOADER_FILE_FORMAT)
        info.raise_on_failed_jobs()
        normalized = pipeline.last_trace.last_normalize_info
        counts = dict(normalized.row_counts) if normalized else {}
    return {table: int(counts.get(table, 0)) for table in (EVENTS_TABLE, REJECTED_TABLE)}
