"""The lineage columns every feed row carries in bronze, and their dlt column hints.

Lineage says where a row came from (feed, file, batch, arrival day, row in the file), so
silver can order, dedupe and supersede without ever opening the landing zone again.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.feeds.discovery import FeedFile
from ingestion.landing_lines import repeated_columns

Hints = dict[str, dict[str, object]]


def column_hint(data_type: str = "text", description: str = "", nullable: bool = False) -> dict[str, object]:
    """A fresh hint dict per column: dlt writes the column name into it, so none may be shared."""
    hint: dict[str, object] = {"data_type": data_type, "nullable": nullable}
    return {**hint, "description": description} if description else hint


def lineage_hints(*names: str) -> Hints:
    """Hints of the lineage columns (all of them, or ``names``), in bronze column order."""
    hints = {
        "source_system": column_hint(description="billing system or payer folder code (athena, bcbs, ...)"),
        "entity": column_hint(),
        "feed": column_hint(description="<source_system>.<entity>, as in the load config"),
        "tenant": column_hint(),
        "environment": column_hint(),
        "batch_id": column_hint(description="batch folder the file arrived in"),
        "source_file": column_hint(description="path relative to the landing root"),
        "file_date": column_hint("date", "day the file arrived (its batch folder's date)"),
        "row_number": column_hint("bigint", "1-based data row in the file (rejected rows count too)"),
        "ingested_at": column_hint("timestamp"),
    }
    return {name: hints[name] for name in names} if names else hints


LINEAGE_HINTS = lineage_hints()
# lineage with one value per file (all but row_number)
CONSTANT_LINEAGE = tuple(name for name in LINEAGE_HINTS if name != "row_number")
RESERVED_COLUMNS = (*LINEAGE_HINTS, "_dlt_load_id", "_dlt_id")

_naming = NamingConvention()  # dlt's default: how header names become bronze column names


def bronze_column_name(header_column: str) -> str:
    """The bronze column a CSV header column lands in (dlt's naming convention)."""
    return _naming.normalize_identifier(header_column)


class LineageCollisionError(ValueError):
    """A CSV header names a column that bronze adds itself (or two headers name one column)."""


def check_header(file: FeedFile, header: tuple[str, ...]) -> None:
    """Fail, naming the file and column, before a header column could overwrite lineage."""
    by_name: dict[str, str] = {}
    for column in header:
        name = _naming.normalize_identifier(column)
        if name in RESERVED_COLUMNS:
            raise LineageCollisionError(
                f"{file.source_file}: header column {column!r} collides with the bronze lineage column "
                f"{name!r}; rename it at the source"
            )
        if name in by_name:
            raise LineageCollisionError(
                f"{file.source_file}: header columns {by_name[name]!r} and {column!r} both become {name!r}"
            )
        by_name[name] = column


def lineage_columns(file: FeedFile, ingested_at: datetime, row_numbers: pa.Array) -> dict[str, pa.Array]:
    """The lineage of ``len(row_numbers)`` rows of ``file`` as Arrow columns."""
    feed, rows = file.feed, len(row_numbers)
    values = {
        "source_system": feed.source_system,
        "entity": feed.entity,
        "feed": feed.name,
        "tenant": file.tenant,
        "environment": file.environment,
        "batch_id": file.batch_id,
        "source_file": file.source_file,
    }
    columns = repeated_columns(values, ingested_at, rows)
    columns["file_date"] = pa.array([file.file_date] * rows, pa.date32())
    columns["row_number"] = row_numbers
    return {name: columns[name] for name in LINEAGE_HINTS}
