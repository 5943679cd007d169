"""Reading landing-zone NDJSON lines: where a file sits, and which lines Postgres can store.

Shared by every file loader (EHR bulk files, the ADT event stream): the bronze audit trail
keeps each line exactly as received, and a line that is not a JSON object is set aside with
the reason instead of failing its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
import pyarrow as pa


@dataclass(frozen=True)
class FileLineage:
    """Where a landing file sits: ``{tenant}/{env}/{system}/{entity}/{batch}/{file}``.

    ``ehr_system`` is the source system folder (``athena``, ``epic``, ``adt``).
    """

    source_file: str
    tenant: str
    environment: str
    ehr_system: str
    entity: str
    batch_id: str

    @classmethod
    def of(cls, path: Path, landing_root: Path) -> FileLineage:
        relative = path.relative_to(landing_root)
        tenant, environment, system, entity, batch_id = relative.parts[:5]
        return cls(relative.as_posix(), tenant, environment, system, entity, batch_id)


def classify_line(raw: bytes) -> tuple[str | None, str | None]:
    """Return (resource_text, None) for a storable JSON object, else (None, reason)."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not raw.strip():
            return None, "blank line"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, "line is not valid UTF-8"
        return None, f"invalid JSON: {exc}"
    if not isinstance(parsed, dict):
        return None, f"JSON value is a {type(parsed).__name__}, not a resource object"
    if b"\\u0000" in raw:  # valid JSON, but Postgres jsonb cannot store NUL characters
        return None, "contains a \\u0000 escape that jsonb cannot store"
    return raw.decode("utf-8"), None


def repeated_columns(values: dict[str, str], ingested_at: datetime, rows: int) -> dict[str, pa.Array]:
    """Lineage that is the same for every row of a batch, as repeated Arrow values, plus
    ``ingested_at``. One builder for every bronze loader keeps their columns identical."""
    columns = {name: pa.repeat(pa.scalar(value, pa.string()), rows) for name, value in values.items()}
    columns["ingested_at"] = pa.repeat(pa.scalar(ingested_at, pa.timestamp("us", tz="UTC")), rows)
    return columns


FILE_LOG_HINTS: dict[str, dict[str, object]] = {
    "entity": {"data_type": "text", "nullable": False},
    "lines": {"data_type": "bigint", "nullable": False, "description": "lines in the file"},
    "rows_loaded": {"data_type": "bigint", "nullable": False, "description": "lines stored as records"},
    "rows_rejected": {"data_type": "bigint", "nullable": False, "description": "lines set aside as rejected"},
}


def file_log_table(
    values: dict[str, str], entity: str, lines: int, loaded: int, rejected: int, at: datetime
) -> pa.Table:
    """A file's row in its loader's file log (``<source>__file_log``): the per-file ledger.

    It travels in the same dlt load as the file's rows, so a file counts as loaded exactly when
    that load completed (see ``ingestion.bronze_loads.committed_source_files``), even when the
    file had no rows at all."""
    columns = repeated_columns({**values, "entity": entity}, at, 1)
    counts = {"lines": lines, "rows_loaded": loaded, "rows_rejected": rejected}
    return pa.table({**columns, **{name: pa.array([count], pa.int64()) for name, count in counts.items()}})


UTF8_BOM = b"\xef\xbb\xbf"


def strip_bom(first_line: bytes) -> bytes:
    """A byte-order mark is an encoding marker, not part of the first record."""
    return first_line[len(UTF8_BOM) :] if first_line.startswith(UTF8_BOM) else first_line
