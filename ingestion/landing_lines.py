"""Reading landing-zone NDJSON lines: where a file sits, and which lines Postgres can store.

Shared by every file loader (EHR bulk files, the ADT event stream): the bronze audit trail
keeps each line exactly as received, and a line that is not a JSON object is set aside with
the reason instead of failing its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson


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
