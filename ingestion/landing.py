"""The landing zone's layout and its completeness contract, shared by every simulator and loader.

Layout: ``{landing_root}/{tenant}/{env}/{system}/{entity}/{batch_id}/<data files> + manifest.json``.
Batches are append-only. A batch is complete only once its manifest exists, and the manifest is
written last and atomically (temp file + rename), so a loader that reads only manifested batches
never sees a half-written extract, even after a crash.

The manifest also says what the batch holds: each data file with its line count, size and
SHA-256 (``files``), auxiliary files that are never loaded (``sidecars``, e.g. a simulator's
ground truth) and the total of lines. :func:`verify_batch` checks a batch against it before
any loader reads a byte: every listed file present with its line count and checksum, nothing
unlisted. A line is what ``wc -l`` counts, plus a last line without a newline: a count that
needs no parser, so CSV and NDJSON batches are verified the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
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


def temp_path_for(path: Path) -> Path:
    """Where a file is written before its rename; the leading dot and suffix keep it out of globs.

    The writer's pid is part of the name, so two processes writing the same file never
    interleave their bytes."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(path)
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


# -- file facts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileFacts:
    """What a manifest records of one file."""

    lines: int
    bytes: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"lines": self.lines, "bytes": self.bytes, "sha256": self.sha256}


_CHUNK = 8 << 20


def file_facts(path: Path) -> FileFacts:
    """Lines, size and SHA-256 of a file in one pass (bounded memory)."""
    digest = hashlib.sha256()
    lines = size = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            size += len(chunk)
            last = chunk[-1:]
    if size and last != b"\n":
        lines += 1  # a last line without its newline is still a line
    return FileFacts(lines, size, digest.hexdigest())


def write_manifest(
    batch_path: Path, files: Iterable[str], extra: dict[str, Any], *, sidecars: Iterable[str] = ()
) -> None:
    """Mark a batch complete: its data ``files`` and ``sidecars`` (names in the folder) with their
    line counts, sizes and checksums, read from disk, plus ``extra`` facts.

    Call it only after every file of the batch is in place; it is what makes the batch visible
    to loaders. Keys keep insertion order, so the same inputs give the same bytes.
    """
    facts = {name: file_facts(batch_path / name) for name in sorted(files)}
    document: dict[str, Any] = {**extra, "files": {name: f.as_json() for name, f in facts.items()}}
    side = {name: file_facts(batch_path / name).as_json() for name in sorted(sidecars)}
    if side:
        document["sidecars"] = side
    document["lines"] = sum(f.lines for f in facts.values())
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    write_atomic(batch_path / LANDING_MANIFEST, text.encode("utf-8"))


def read_manifest(batch_path: Path) -> dict[str, Any]:
    """The manifest of a complete batch (raises ``FileNotFoundError`` for an incomplete one)."""
    with (batch_path / LANDING_MANIFEST).open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


# -- verification -------------------------------------------------------------------------------
class BatchStatus(StrEnum):
    VERIFIED = "verified"  # every listed file as the manifest says, nothing else
    STRAY_FILES = "stray_files"  # listed files verified and loadable; unlisted files are not loaded
    FAILED = "failed"  # a listed file is missing or differs: no file of the batch is loaded
    NO_MANIFEST = "no_manifest"  # files without a manifest for longer than the grace period
    PENDING = "pending"  # still being written (no manifest yet, within the grace period)

    @property
    def loadable(self) -> bool:
        return self in (BatchStatus.VERIFIED, BatchStatus.STRAY_FILES)

    @property
    def is_problem(self) -> bool:
        return self in (BatchStatus.STRAY_FILES, BatchStatus.FAILED, BatchStatus.NO_MANIFEST)


@dataclass(frozen=True)
class BatchVerification:
    """The outcome of checking one batch folder against its manifest. ``problems`` name files
    and counts only (never their content), so they are safe in logs and run summaries."""

    folder: Path
    status: BatchStatus
    problems: tuple[str, ...] = ()
    data_files: tuple[Path, ...] = ()  # the listed data files, to load when the status is loadable
    lines: int = 0
    manifest_sha256: str | None = None


def _listed(manifest: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """``{name: {"lines": n, "bytes": b, "sha256": h}}``; a bare count is an older manifest's."""
    listed = manifest.get(key) or {}
    if not isinstance(listed, dict):
        raise ValueError(f"manifest.json: {key} is not an object")
    facts: dict[str, dict[str, Any]] = {}
    for name, entry in listed.items():
        if isinstance(entry, int) and not isinstance(entry, bool):
            facts[name] = {"lines": entry}
        elif isinstance(entry, dict) and isinstance(entry.get("lines"), int):
            facts[name] = entry
        else:
            raise ValueError(f"manifest.json: {key}.{name} has no line count")
        if "/" in name or name in ("", ".", "..", LANDING_MANIFEST):
            raise ValueError(f"manifest.json: {name!r} is not a file name of the batch")
    return facts


def _file_problem(folder: Path, name: str, expected: dict[str, Any]) -> str | None:
    path = folder / name
    if not path.is_file():
        return f"{name}: listed in the manifest, missing"
    facts = file_facts(path)
    if facts.lines != expected["lines"]:
        return f"{name}: the manifest lists {expected['lines']} lines, the file has {facts.lines}"
    if "bytes" in expected and facts.bytes != expected["bytes"]:
        return f"{name}: the manifest lists {expected['bytes']} bytes, the file has {facts.bytes}"
    if "sha256" in expected and facts.sha256 != expected["sha256"]:
        return f"{name}: SHA-256 differs from the manifest"
    return None


def verify_batch(
    folder: Path, grace: timedelta, accepts: Callable[[Path], bool], now: datetime | None = None
) -> BatchVerification:
    """Check one batch folder against its manifest (see the module docstring).

    ``accepts`` says which files the batch's loader reads: a listed data file it does not read
    fails the batch (it would otherwise be skipped without a word).
    """
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]  # dot files: writes in flight
    manifest_path = folder / LANDING_MANIFEST
    if not manifest_path.is_file():
        if not entries:
            return BatchVerification(folder, BatchStatus.PENDING)
        newest = max(p.stat().st_mtime for p in entries)
        age = (now or datetime.now(UTC)) - datetime.fromtimestamp(newest, UTC)
        if age < grace:
            return BatchVerification(folder, BatchStatus.PENDING)
        minutes = age.total_seconds() / 60
        problem = f"{len(entries)} file(s) and no manifest.json after {minutes:.0f} minutes: not loaded"
        return BatchVerification(folder, BatchStatus.NO_MANIFEST, (problem,))
    raw = manifest_path.read_bytes()
    manifest_sha = hashlib.sha256(raw).hexdigest()
    try:
        manifest = json.loads(raw)
        if not isinstance(manifest, dict):
            raise ValueError("manifest.json is not a JSON object")
        data, side = _listed(manifest, "files"), _listed(manifest, "sidecars")
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        reason = str(exc) if str(exc).startswith("manifest.json") else "manifest.json is not valid JSON"
        return BatchVerification(folder, BatchStatus.FAILED, (reason,), manifest_sha256=manifest_sha)
    failures = [
        problem
        for name, expected in {**data, **side}.items()
        if (problem := _file_problem(folder, name, expected))
    ]
    failures += [
        f"{name}: listed as data, but no loader of this folder reads it"
        for name in data
        if not accepts(folder / name)
    ]
    if failures:
        return BatchVerification(folder, BatchStatus.FAILED, tuple(failures), manifest_sha256=manifest_sha)
    listed = {*data, *side, LANDING_MANIFEST}
    stray = sorted(p.name + ("/" if p.is_dir() else "") for p in entries if p.name not in listed)
    status = BatchStatus.STRAY_FILES if stray else BatchStatus.VERIFIED
    problems = tuple(f"{name}: not in the manifest, not loaded" for name in stray)
    files = tuple(folder / name for name in sorted(data))
    return BatchVerification(
        folder, status, problems, files, sum(f["lines"] for f in data.values()), manifest_sha
    )
