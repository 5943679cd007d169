"""``bronze.feeds__file_log``: one row per loaded file, and the report the loader returns.

The log is how silver learns each file's load type, primary key and watermark, and how a
schema change shows up: a file's header is compared with the previous file of its feed
(columns added, columns missing; a renamed column is both).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.feeds.csv_reader import CsvFile
from ingestion.feeds.discovery import FeedFile
from ingestion.feeds.lineage import Hints, column_hint, lineage_hints

log = logging.getLogger(__name__)

PreviousFile = tuple[str, tuple[str, ...]]  # (source_file, header) of a feed's last loaded file

FILE_LOG_HINTS: Hints = {
    **lineage_hints("feed", "source_system", "entity"),
    "table_name": column_hint(),
    **lineage_hints("source_file", "file_date", "batch_id"),
    "load_type": column_hint(description="full | incremental (applied by silver)"),
    "watermark_column": column_hint(nullable=True),
    "max_watermark": column_hint(description="max text value of watermark_column in the file", nullable=True),
    "primary_key": column_hint("json", "JSON array of the feed's key columns (applied by silver)"),
    "rows_loaded": column_hint("bigint"),
    "rows_rejected": column_hint("bigint"),
    "columns": column_hint("json", "the file's header, JSON array"),
    "columns_added": column_hint("json", "header columns the feed's previous file lacked"),
    "columns_missing": column_hint("json", "columns of the feed's previous file this one lacks"),
    "previous_source_file": column_hint(description="null for the feed's first file", nullable=True),
    **lineage_hints("tenant", "environment", "ingested_at"),
}


@dataclass(frozen=True)
class FileReport:
    """What happened to one file: counts and names only, no data values, so safe to log."""

    feed: str
    table: str
    source_file: str
    rows_loaded: int
    rows_rejected: int
    columns: tuple[str, ...]
    columns_added: tuple[str, ...]
    columns_missing: tuple[str, ...]
    previous_source_file: str | None

    @property
    def schema_changed(self) -> bool:
        return bool(self.columns_added or self.columns_missing)


def file_report(file: FeedFile, csv_file: CsvFile, previous: PreviousFile | None) -> FileReport:
    header = csv_file.header
    added = tuple(c for c in header if c not in previous[1]) if previous else ()
    missing = tuple(c for c in previous[1] if c not in header) if previous else ()
    missing_key = [c for c in file.feed.primary_key if c not in header]
    if missing_key and header:
        log.warning("%s: primary key column(s) %s are not in the file", file.source_file, missing_key)
    return FileReport(
        feed=file.feed.name,
        table=file.feed.table,
        source_file=file.source_file,
        rows_loaded=csv_file.data.num_rows,
        rows_rejected=len(csv_file.rejected),
        columns=header,
        columns_added=added,
        columns_missing=missing,
        previous_source_file=previous[0] if previous else None,
    )


def max_watermark(file: FeedFile, csv_file: CsvFile) -> str | None:
    """Max text value of the feed's watermark column (None without one, or when all are empty)."""
    column = file.feed.watermark_column
    if column is None:
        return None
    if column not in csv_file.header:
        log.warning("%s: watermark column %s is not in the file", file.source_file, column)
        return None
    return pc.max(csv_file.data.column(column)).as_py() or None


_TYPES = {
    "file_date": pa.date32(),
    "rows_loaded": pa.int64(),
    "rows_rejected": pa.int64(),
    "ingested_at": pa.timestamp("us", tz="UTC"),
}


def file_log_table(file: FeedFile, csv_file: CsvFile, report: FileReport, ingested_at: datetime) -> pa.Table:
    """The file's log row; JSON arrays travel as text and Postgres parses them into jsonb."""
    feed = file.feed
    row = {
        "feed": feed.name,
        "source_system": feed.source_system,
        "entity": feed.entity,
        "table_name": feed.table,
        "source_file": file.source_file,
        "file_date": file.file_date,
        "batch_id": file.batch_id,
        "load_type": feed.load_type,
        "watermark_column": feed.watermark_column,
        "max_watermark": max_watermark(file, csv_file),
        "primary_key": json.dumps(list(feed.primary_key)),
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "columns": json.dumps(list(report.columns)),
        "columns_added": json.dumps(list(report.columns_added)),
        "columns_missing": json.dumps(list(report.columns_missing)),
        "previous_source_file": report.previous_source_file,
        "tenant": file.tenant,
        "environment": file.environment,
        "ingested_at": ingested_at,
    }
    return pa.table({name: pa.array([value], _TYPES.get(name, pa.string())) for name, value in row.items()})


def log_report(report: FileReport) -> None:
    log.info(
        "%s: %s, %d row(s), %d rejected",
        report.feed,
        report.source_file,
        report.rows_loaded,
        report.rows_rejected,
    )
    if report.schema_changed:
        log.warning(
            "%s: columns changed in %s since %s: added %s, missing %s",
            report.feed,
            report.source_file,
            report.previous_source_file,
            list(report.columns_added),
            list(report.columns_missing),
        )
