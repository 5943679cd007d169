"""The landing zone's layout and its completeness contract, shared by every simulator and loader.

Layout: ``{landing_root}/{tenant}/{env}/{system}/{entity}/{batch_id}/<data files> + manifest.json``.
Batches are append-only. A batch is complete only once its manifest exists, and the manifest is
written last and atomically (temp file + rename), so a loader that reads only manifested batches
never sees a half-written extract, even after a crash.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

LANDING_MANIFEST = "manifest.json"
DATA_FILE_PATTERN = "*.ndjson"
_BATCH_ID_FORMAT = "%Y%m%dT060000Z"


def batch_id_for(extract_date: date) -> str:
    """The batch id of the extract of ``extract_date``: the sources drop it at 06:00 UTC that day.

    The id is a UTC stamp, so batch folders sort chronologically by name.
    """
    return extract_date.strftime(_BATCH_ID_FORMAT)


def extract_date_of(batch_id: str) -> date:
    """Inverse of :func:`batch_id_for` (raises ``ValueError`` for any other folder name)."""
    return datetime.strptime(batch_id, _BATCH_ID_FORMAT).date()


def batch_dir(landing_root: Path, tenant: str, env: str, system: str, entity: str, batch_id: str) -> Path:
    return landing_root / tenant / env / system / entity / batch_id


def is_complete(batch_path: Path) -> bool:
    return (batch_path / LANDING_MANIFEST).is_file()


def complete_batches(landing_root: Path, tenant: str, env: str, system: str, entity: str) -> list[Path]:
    """Folders of the complete batches of one entity, sorted; ``system="*"`` means all systems."""
    base = landing_root / tenant / env
    if not base.is_dir():
        return []
    manifests = base.glob(f"{system}/{entity}/*/{LANDING_MANIFEST}")
    return sorted(path.parent for path in manifests if path.is_file())


def complete_batch_files(
    landing_root: Path, tenant: str, env: str, system: str, entity: str, pattern: str = DATA_FILE_PATTERN
) -> list[Path]:
    """Sorted data files of every complete batch of one entity (``system="*"``: all systems).

    Files of a batch without a manifest are never returned: that batch is still being written
    (or its writer crashed), and loading it would land a partial extract.
    """
    files: list[Path] = []
    for folder in complete_batches(landing_root, tenant, env, system, entity):
        files.extend(path for path in folder.glob(pattern) if path.is_file())
    return sorted(files)


def temp_path_for(path: Path) -> Path:
    """Where a file is written before its rename; the leading dot and suffix keep it out of globs."""
    return path.with_name(f".{path.name}.tmp")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(path)
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def write_manifest(batch_path: Path, files: dict[str, int], extra: dict[str, Any]) -> None:
    """Mark a batch complete: its data file names with their line counts, plus ``extra`` facts.

    Call it only after every data file of the batch is in place; it is what makes the batch
    visible to loaders. Keys keep insertion order, so the same inputs give the same bytes.
    """
    document = {**extra, "files": dict(sorted(files.items())), "lines": sum(files.values())}
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    write_atomic(batch_path / LANDING_MANIFEST, text.encode("utf-8"))


def read_manifest(batch_path: Path) -> dict[str, Any]:
    """The manifest of a complete batch (raises ``FileNotFoundError`` for an incomplete one)."""
    with (batch_path / LANDING_MANIFEST).open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document
