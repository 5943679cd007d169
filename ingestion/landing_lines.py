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
from psycopg import sql

from warehouse.connection import connect, table_exists
from warehouse.settings import Settings


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
    columns = {name: pa.array([value] * rows, pa.string()) for name, value in values.items()}
    columns["ingested_at"] = pa.array([ingested_at] * rows, pa.timestamp("us", tz="UTC"))
    return columns


def loaded_source_files(settings: Settings, schema: str, tables: dict[str, str | None]) -> set[str]:
    """Source files bronze already holds in ``tables`` (table -> entity filter or None).

    Bronze itself is the record of what was loaded, so a load stays idempotent when dlt's local
    state is lost or the warehouse is swapped.
    """
    loaded: set[str] = set()
    with connect(settings) as conn:
        for table, entity in tables.items():
            if not table_exists(conn, schema, table):
                continue
            query = sql.SQL("select distinct source_file from {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            if entity is None:
                rows = conn.execute(query)
            else:
                rows = conn.execute(query + sql.SQL(" where entity = %s"), (entity,))
            loaded.update(r[0] for r in rows)
    return loaded
