"""dlt source that appends the ADT event stream's micro-batches to ``bronze.adt__events``.

Each line is a Kafka-like record (topic, partition, offset, producer time, event). Bronze keeps
the whole record as jsonb, the stream metadata as columns and the file lineage, exactly once:
a micro-batch is loaded only when complete and verified against its manifest, and never twice
(``bronze.adt__file_log``, committed in the same load as the file's records, says which files
bronze holds). Lines that are not stream records go to ``bronze.adt__rejected_line``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dlt
import orjson
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.bronze_loads import committed_source_files
from ingestion.bronze_pipeline import declare_tables
from ingestion.landing import DATA_FILE_PATTERN
from ingestion.landing_audit import LandingScope, batch_folders, loadable_files, verify_scope
from ingestion.landing_lines import (
    FILE_LOG_HINTS,
    FileLineage,
    classify_line,
    file_log_table,
    repeated_columns,
    strip_bom,
)
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOURCE_NAME = "adt"
SYSTEM = "adt"
ENTITY = "events"
EVENTS_TABLE = "adt__events"
REJECTED_TABLE = "adt__rejected_line"
FILE_LOG_TABLE = "adt__file_log"

_LINEAGE_HINTS: dict[str, dict[str, object]] = {
    "tenant": {"data_type": "text", "nullable": False},
    "environment": {"data_type": "text", "nullable": False},
    "batch_id": {"data_type": "text", "nullable": False, "description": "micro-batch folder"},
    "source_file": {
        "data_type": "text",
        "nullable": False,
        "description": "path relative to the landing root",
    },
    "line_number": {"data_type": "bigint", "nullable": False},
    "ingested_at": {"data_type": "timestamp", "nullable": False},
}
EVENT_HINTS: dict[str, dict[str, object]] = {
    "record": {
        "data_type": "json",
        "nullable": False,
        "description": "the stream record exactly as received",
    },
    "topic": {"data_type": "text", "nullable": False},
    "partition": {"data_type": "bigint", "nullable": False},
    "offset": {"data_type": "bigint", "nullable": False, "description": "strictly increasing per partition"},
    "producer_time": {"data_type": "timestamp", "nullable": False},
    **_LINEAGE_HINTS,
}
REJECTED_HINTS: dict[str, dict[str, object]] = {
    "error": {"data_type": "text", "nullable": False},
    "raw_line": {"data_type": "text", "nullable": False},
    **_LINEAGE_HINTS,
}
EVENTS_DESCRIPTION = (
    "The hospitals' admission, transfer and discharge stream: one row per Kafka-like record"
    " (topic, partition, offset, producer time) with the record as jsonb, appended exactly once"
    " per verified micro-batch."
)
LOG_HINTS = {**FILE_LOG_HINTS, **{k: v for k, v in _LINEAGE_HINTS.items() if k != "line_number"}}


def _stream_metadata(record: dict) -> tuple[str, int, int, datetime] | str:
    """(topic, partition, offset, producer time) of a record, or why it is not a stream record."""
    topic, partition, offset, produced = (
        record.get(k) for k in ("topic", "partition", "offset", "producer_time")
    )
    if not isinstance(topic, str) or not topic:
        return "record has no topic"
    if type(partition) is not int or type(offset) is not int or partition < 0 or offset < 0:
        return "record has no valid partition/offset"
    if not isinstance(record.get("event"), dict):
        return "record carries no event object"
    try:
        produced_at = datetime.fromisoformat(str(produced))
    except ValueError:
        return "record has no valid producer_time"
    if produced_at.tzinfo is None:
        return "producer_time has no time zone"
    return topic, partition, offset, produced_at


def _lineage_values(lineage: FileLineage) -> dict[str, str]:
    return {
        "tenant": lineage.tenant,
        "environment": lineage.environment,
        "batch_id": lineage.batch_id,
        "source_file": lineage.source_file,
    }


def _lineage_columns(lineage: FileLineage, ingested_at: datetime, rows: int) -> dict[str, pa.Array]:
    return repeated_columns(_lineage_values(lineage), ingested_at, rows)


def read_stream_file(path: Path, landing_root: Path, ingested_at: datetime) -> Iterator[tuple[str, pa.Table]]:
    """("event" | "rejected" | "file_log", Arrow table) for one micro-batch file (micro-batches
    are small); the file's log row comes last."""
    lineage = FileLineage.of(path, landing_root)
    good: dict[str, list] = {
        k: [] for k in ("record", "topic", "partition", "offset", "producer_time", "line")
    }
    rejected: list[tuple[int, str, str]] = []
    with path.open("rb") as handle:
        line_number = 0
        for line_number, raw_line in enumerate(handle, start=1):
            raw = raw_line.rstrip(b"\r\n")
            if line_number == 1:
                raw = strip_bom(raw)
            text, reason = classify_line(raw)
            metadata = _stream_metadata(orjson.loads(raw)) if text is not None else reason
            if isinstance(metadata, tuple):
                for name, value in zip(
                    ("topic", "partition", "offset", "producer_time"), metadata, strict=True
                ):
                    good[name].append(value)
                good["record"].append(text)
                good["line"].append(line_number)
            else:
                rejected.append((line_number, metadata or "unknown", raw.decode("utf-8", errors="replace")))
    if good["record"]:
        rows = len(good["record"])
        yield (
            "event",
            pa.table(
                {
                    "record": pa.array(good["record"], pa.string()),
                    "topic": pa.array(good["topic"], pa.string()),
                    "partition": pa.array(good["partition"], pa.int64()),
                    "offset": pa.array(good["offset"], pa.int64()),
                    "producer_time": pa.array(good["producer_time"], pa.timestamp("us", tz="UTC")),
                    **_lineage_columns(lineage, ingested_at, rows),
                    "line_number": pa.array(good["line"], pa.int64()),
                }
            ),
        )
    if rejected:
        lines, errors, raws = zip(*rejected, strict=True)
        yield (
            "rejected",
            pa.table(
                {
                    "error": pa.array(errors, pa.string()),
                    "raw_line": pa.array(raws, pa.string()),
                    **_lineage_columns(lineage, ingested_at, len(rejected)),
                    "line_number": pa.array(lines, pa.int64()),
                }
            ),
        )
    counts = (line_number, len(good["record"]), len(rejected))
    yield "file_log", file_log_table(_lineage_values(lineage), lineage.entity, *counts, ingested_at)


def files_already_in_bronze(settings: Settings) -> set[str]:
    """Micro-batch files whose load into bronze completed (the file log says so)."""
    return committed_source_files(settings, FILE_LOG_TABLE)


def adt_scope(settings: Settings) -> LandingScope:
    base = settings.landing_dir / settings.tenant / settings.environment
    folders = batch_folders(base, f"{SYSTEM}/{ENTITY}/*")
    return LandingScope("adt", folders, lambda path: path.match(DATA_FILE_PATTERN))


def new_stream_files(settings: Settings) -> list[Path]:
    """Verified micro-batch files that bronze does not hold yet, oldest batch first."""
    loaded = files_already_in_bronze(settings)
    return loadable_files(verify_scope(settings, adt_scope(settings), loaded), settings.landing_dir, loaded)


_ROUTES = {
    "event": (EVENTS_TABLE, EVENT_HINTS),
    "rejected": (REJECTED_TABLE, REJECTED_HINTS),
    "file_log": (FILE_LOG_TABLE, LOG_HINTS),
}


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def adt_bronze_source(settings_factory: Callable[[], Settings] = get_settings) -> list[DltResource]:
    """The ADT event stream; settings are read when the load runs."""

    def adt_events() -> Iterator[object]:
        """New micro-batches of admission, transfer and discharge records, raw, with stream metadata."""
        settings = settings_factory()
        ingested_at = datetime.now(UTC)
        files = new_stream_files(settings)
        log.info("adt: %d new micro-batch file(s)", len(files))
        for path in files:
            for kind, table in read_stream_file(path, settings.landing_dir, ingested_at):
                name, hints = _ROUTES[kind]
                yield dlt.mark.with_hints(
                    table,
                    dlt.mark.make_hints(table_name=name, columns=hints, write_disposition="append"),
                    create_table_variant=True,
                )

    resource = dlt.resource(adt_events, name=EVENTS_TABLE, write_disposition="append")
    return [
        declare_tables(
            resource,
            description=EVENTS_DESCRIPTION,
            columns=EVENT_HINTS,
            routed=[(REJECTED_TABLE, REJECTED_HINTS, ()), (FILE_LOG_TABLE, LOG_HINTS, ())],
        )
    ]
