"""dlt source that appends the CSV feeds of the load config to bronze, raw, with lineage.

One resource per bronze table (so Dagster's ``@dlt_assets`` gets one asset ``bronze/<table>``
each); it reads every active feed that targets the table. Each new file of a complete batch
is appended once: all its columns as text, plus lineage (source_system, entity, feed, tenant,
environment, batch_id, source_file, file_date, row_number, ingested_at). Records that are not
valid CSV rows go to ``bronze.feeds__rejected_row``; every file gets a row in
``bronze.feeds__file_log`` (its header, columns added / missing since the feed's previous
file, max watermark, row counts). The rejected rows and the log row of a file travel in the
same resource as its data, so they are never loaded without each other, whatever subset of
assets Dagster runs; the two audit resources only declare their tables.

Every write is an append: bronze is the audit trail. ``load_type`` and ``primary_key`` are
not applied here (a bad row must never fail a load, so no primary-key hints that would make
columns NOT NULL); silver applies them, reading them from the file log. A file whose columns
change still loads: dlt adds new columns (earlier rows stay null; a renamed column is a new
column).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.bronze_pipeline import (
    IMPORT_FILE_ROWS,
    LOAD_ID_COLUMN,
    LOAD_ID_HINT,
    csv_imports,
    declare_tables,
)
from ingestion.feeds.config import (
    FILE_LOG_TABLE,
    REJECTED_TABLE,
    FeedConfig,
    LoadConfig,
    feed_tables,
    load_config,
)
from ingestion.feeds.csv_reader import CsvFile, read_csv_file
from ingestion.feeds.discovery import FeedFile, last_headers, new_feed_files
from ingestion.feeds.file_log import (
    FILE_LOG_HINTS,
    FileReport,
    PreviousFile,
    file_log_table,
    file_report,
    log_report,
)
from ingestion.feeds.lineage import (
    CONSTANT_LINEAGE,
    LINEAGE_HINTS,
    Hints,
    bronze_column_name,
    check_header,
    column_hint,
    lineage_columns,
    lineage_hints,
)
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOURCE_NAME = "feeds"

REJECTED_HINTS: Hints = {
    "table_name": column_hint(description="bronze table the row was meant for"),
    "error": column_hint(description="why the record is not a row of the file"),
    "raw_line": column_hint(description="the record as received"),
    **lineage_hints(),
}


def _data_batches(file: FeedFile, csv_file: CsvFile, ingested_at: datetime) -> Iterator[pa.Table]:
    """The file's rows with their lineage, columns named as in bronze."""
    data, numbers = csv_file.data, csv_file.row_numbers
    names = [bronze_column_name(name) for name in data.column_names]
    for start in range(0, data.num_rows, IMPORT_FILE_ROWS):
        part = data.slice(start, IMPORT_FILE_ROWS)
        lineage = lineage_columns(file, ingested_at, numbers.slice(start, IMPORT_FILE_ROWS))
        yield pa.table({**dict(zip(names, part.columns, strict=True)), **lineage})


def _data_hints(table: str) -> Callable[[pa.Schema], dict[str, object]]:
    """Hints of an imported file of ``table``: its file columns are text, as read."""

    def hints(schema: pa.Schema) -> dict[str, object]:
        columns: Hints = {
            name: column_hint(nullable=True) for name in schema.names if name not in LINEAGE_HINTS
        }
        columns.update(lineage_hints())
        columns[LOAD_ID_COLUMN] = dict(LOAD_ID_HINT)
        return dlt.mark.make_hints(table_name=table, write_disposition="append", columns=columns)

    return hints


def _rejected_table(file: FeedFile, csv_file: CsvFile, ingested_at: datetime) -> pa.Table:
    rejected = csv_file.rejected
    numbers = pa.array([r.row_number for r in rejected], pa.int64())
    return pa.table(
        {
            "table_name": pa.array([file.feed.table] * len(rejected), pa.string()),
            "error": pa.array([r.error for r in rejected], pa.string()),
            "raw_line": pa.array([r.raw_line for r in rejected], pa.string()),
            **lineage_columns(file, ingested_at, numbers),
        }
    )


def _routed(table: pa.Table, table_name: str, hints: Hints) -> object:
    # hints travel with the rows, not the decorator, so audit-table variants do not inherit
    # the data table's columns
    return dlt.mark.with_hints(
        table,
        dlt.mark.make_hints(table_name=table_name, columns=hints, write_disposition="append"),
        create_table_variant=True,
    )


def read_feed_file(
    file: FeedFile, ingested_at: datetime, previous: PreviousFile | None
) -> tuple[Iterator[pa.Table], list[object], FileReport]:
    """One file: its data batches (Arrow, with lineage), its audit items for dlt (rejected rows,
    its file log row) and its report."""
    csv_file = read_csv_file(file.path)
    check_header(file, csv_file.header)
    report = file_report(file, csv_file, previous)
    audit: list[object] = []
    if csv_file.rejected:
        audit.append(_routed(_rejected_table(file, csv_file, ingested_at), REJECTED_TABLE, REJECTED_HINTS))
    audit.append(_routed(file_log_table(file, csv_file, report, ingested_at), FILE_LOG_TABLE, FILE_LOG_HINTS))
    return _data_batches(file, csv_file, ingested_at), audit, report


def _describe(table: str, config: LoadConfig, feeds: tuple[FeedConfig, ...]) -> str:
    """Table description: what the table holds (the load config's ``tables:``), which feeds land
    here and how silver reads them."""
    parts = []
    for feed in feeds:
        watermark = f", watermark {feed.watermark_column}" if feed.watermark_column else ""
        parts.append(f"{feed.name} ({feed.load_type}, primary key {', '.join(feed.primary_key)}{watermark})")
    meaning = config.descriptions.get(table, "CSV feed rows.")
    return (
        f"{meaning} Raw CSV rows, appended once per file, all columns text, with lineage. "
        f"Feeds: {'; '.join(parts)}"
    )


def _table_resource(
    table: str,
    config: LoadConfig,
    settings_factory: Callable[[], Settings],
    on_file: Callable[[FileReport], None] | None,
) -> DltResource:
    feeds = config.feeds_of(table)
    description = _describe(table, config, feeds)

    def load_table() -> Iterator[object]:
        settings = settings_factory()
        ingested_at = datetime.now(UTC)
        found = new_feed_files(config, feeds, settings)
        previous = last_headers(settings, [feed.name for feed in feeds])
        audit: list[object] = []

        def data_batches() -> Iterator[pa.Table]:
            for feed in feeds:
                log.info("%s: %d new file(s)", feed.name, len(found[feed]))
                for file in found[feed]:
                    batches, items, report = read_feed_file(file, ingested_at, previous.get(feed.name))
                    yield from batches
                    audit.extend(items)
                    previous[feed.name] = (report.source_file, report.columns)
                    log_report(report)
                    if on_file is not None:
                        on_file(report)

        # the rows of the table's files go to dlt as CSV files to COPY, the files' audit rows
        # as Arrow tables, all in the same load
        for item in csv_imports(data_batches(), _data_hints(table), CONSTANT_LINEAGE):
            yield item
            yield from audit
            audit.clear()
        yield from audit

    load_table.__doc__ = description
    resource = dlt.resource(load_table, name=table, write_disposition="append")
    # the CSV columns are known only once files arrive: the lineage columns are what is declared
    return declare_tables(
        resource,
        description=description,
        columns=LINEAGE_HINTS,
        routed=[(REJECTED_TABLE, REJECTED_HINTS, ()), (FILE_LOG_TABLE, FILE_LOG_HINTS, ())],
    )


def _audit_resource(table: str, hints: Hints, doc: str) -> DltResource:
    def audit() -> Iterator[object]:
        yield from ()

    audit.__doc__ = doc
    resource = dlt.resource(audit, name=table, write_disposition="append")
    return declare_tables(resource, description=doc, columns=hints)


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def feeds_bronze_source(
    settings_factory: Callable[[], Settings] = get_settings,
    config: LoadConfig | None = None,
    on_file: Callable[[FileReport], None] | None = None,
) -> list[DltResource]:
    """Every active feed of the load config (default: see ``load_config``). Settings, the
    landing zone and bronze are read when the load runs, so Dagster can build the source
    while it loads definitions."""
    config = config or load_config()
    for feed in config.inactive_feeds:
        log.info("%s: inactive in the load config, skipped", feed.name)
    data_tables = feed_tables(config, include_audit=False)
    return [
        *(_table_resource(table, config, settings_factory, on_file) for table in data_tables),
        _audit_resource(
            FILE_LOG_TABLE,
            FILE_LOG_HINTS,
            "One row per loaded feed file: header, columns added / missing, max watermark, row counts. "
            "Written by the table resources, alongside each file's rows.",
        ),
        _audit_resource(
            REJECTED_TABLE,
            REJECTED_HINTS,
            "Feed records that are not valid CSV rows (wrong number of fields, invalid UTF-8, NUL), "
            "with the error and the raw text. Written by the table resources.",
        ),
    ]
