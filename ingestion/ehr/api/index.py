"""What the simulated FHIR server serves: the current version of every well-formed resource.

The landing zone is a change log (every version a feed sent, re-sends included); a FHIR server
holds one current version per resource. So, per (system, resource type), the index keeps the
latest version of each id, chosen exactly as silver's de-duplication chooses it: latest
``meta.lastUpdated``, then later batch, then later line, then later file name.

Differences from the file path, by construction of a FHIR server:

- only complete (manifested) batches are read, as the file loader does;
- a line must be a JSON object without ``\\u0000`` escapes (what bronze can store), with a
  non-empty string ``id`` and a parseable ``meta.lastUpdated`` (naive stamps read as UTC).
  A resource without an id cannot be addressed and one without ``lastUpdated`` cannot be
  found by ``_lastUpdated``, so neither is served, while the file path lands both (silver
  quarantines the first and ranks the second last);
- earlier versions are never served, so bronze gets one row per id and change, not per re-send;
- resources are served under the type of the folder they landed in, as the file path loads them.

Memory stays bounded by the number of current resources, not the landing zone's size: the index
keeps (lastUpdated, id, file, line, byte offset, length) per resource and reads the bytes from
the landing file when a page is served. Types are indexed lazily, on their first request, and a
rescan only reads batches that completed since the last one (landing batches are append-only).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import orjson

from ingestion.landing import DATA_FILE_PATTERN, complete_batches

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
_READ_CHUNK_BYTES = 32 << 20
_NUL_ESCAPE = b"\\u0000"


def instant_us(text: str) -> int | None:
    """Microseconds since the epoch of an ISO 8601 instant; ``None`` if it does not parse.

    Integers compare exactly, whatever offset or precision the sender used.
    """
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # FHIR instants carry an offset; Postgres would read a naive one as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _ONE_MICROSECOND


def format_instant(micros: int) -> str:
    """The UTC instant ``micros`` in FHIR form (``Z``, fractional seconds only when needed)."""
    moment = _EPOCH + timedelta(microseconds=micros)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}Z"


class Entry(NamedTuple):
    """Where the current version of one resource is; tuples sort by (lastUpdated, id)."""

    instant_us: int
    id: str
    file_no: int
    line: int
    offset: int
    length: int


@dataclass(frozen=True)
class LandingFile:
    path: Path
    batch_id: str


def resource_key(raw: bytes) -> tuple[str, int] | None:
    """(id, lastUpdated in µs) of a servable resource line, else ``None`` (see module docstring)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or _NUL_ESCAPE in raw:
        return None
    resource_id, meta = document.get("id"), document.get("meta")
    if not isinstance(resource_id, str) or not resource_id or not isinstance(meta, dict):
        return None
    last_updated = meta.get("lastUpdated")
    micros = instant_us(last_updated) if isinstance(last_updated, str) else None
    return None if micros is None else (resource_id, micros)


class TypeIndex:
    """The current versions of one resource type of one EHR system, sorted by (lastUpdated, id)."""

    def __init__(self, landing_root: Path, tenant: str, env: str, system: str, entity: str) -> None:
        self._where = (landing_root, tenant, env, system, entity)
        self._lock = threading.Lock()
        self._batches: set[str] = set()
        self._files: list[LandingFile] = []
        self._current: dict[str, Entry] = {}
        self._sorted: list[Entry] = []
        self._built = False
        self.skipped_lines = 0

    def entries(self, *, rescan: bool) -> list[Entry]:
        """The sorted current versions; ``rescan`` first indexes batches completed since last time.

        The returned list is never mutated afterwards (a rescan builds a new one), so a request
        can page through it without holding the lock.
        """
        if self._built and not rescan:
            return self._sorted
        with self._lock:
            landing_root, tenant, env, system, entity = self._where
            new = [
                b
                for b in complete_batches(landing_root, tenant, env, system, entity)
                if b.name not in self._batches
            ]
            for batch in new:
                self._index_batch(batch)
            if new or not self._built:
                self._sorted = sorted(self._current.values())
                self._built = True
                if new:
                    log.info(
                        "indexed %s/%s: %d batch(es), %d current resources",
                        system,
                        entity,
                        len(new),
                        len(self._sorted),
                    )
            return self._sorted

    def _index_batch(self, batch: Path) -> None:
        for path in sorted(p for p in batch.glob(DATA_FILE_PATTERN) if p.is_file()):
            self._files.append(LandingFile(path, batch.name))
            self._index_file(path, len(self._files) - 1)
        self._batches.add(batch.name)

    def _index_file(self, path: Path, file_no: int) -> None:
        current, newer = self._current, self._newer
        offset = line = 0
        with path.open("rb") as handle:
            while chunk := handle.readlines(_READ_CHUNK_BYTES):
                for raw_line in chunk:
                    line += 1
                    raw = raw_line.rstrip(b"\r\n")
                    key = resource_key(raw)
                    if key is None:
                        self.skipped_lines += 1
                    else:
                        entry = Entry(key[1], key[0], file_no, line, offset, len(raw))
                        previous = current.get(entry.id)
                        if previous is None or newer(entry, previous):
                            current[entry.id] = entry
                    offset += len(raw_line)

    def _newer(self, candidate: Entry, incumbent: Entry) -> bool:
        """Silver's rule: later lastUpdated, then later batch, then later line, then later file."""
        if candidate.instant_us != incumbent.instant_us:
            return candidate.instant_us > incumbent.instant_us
        new_file, old_file = self._files[candidate.file_no], self._files[incumbent.file_no]
        return (new_file.batch_id, candidate.line, new_file.path.name) > (
            old_file.batch_id,
            incumbent.line,
            old_file.path.name,
        )

    def read(self, entries: Sequence[Entry]) -> list[bytes]:
        """The raw bytes of ``entries``, in order; each landing file is opened once per call."""
        out: list[bytes] = [b""] * len(entries)
        positions: dict[int, list[int]] = {}
        for position, entry in enumerate(entries):
            positions.setdefault(entry.file_no, []).append(position)
        for file_no, wanted in positions.items():
            descriptor = os.open(self._files[file_no].path, os.O_RDONLY)
            try:
                for position in wanted:
                    entry = entries[position]
                    out[position] = os.pread(descriptor, entry.length, entry.offset)
            finally:
                os.close(descriptor)
        return out


class LandingIndex:
    """One lazily built :class:`TypeIndex` per (system, entity) of one tenant and environment."""

    def __init__(self, landing_root: Path, tenant: str, env: str) -> None:
        self.landing_root, self.tenant, self.env = landing_root, tenant, env
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str], TypeIndex] = {}

    def type_index(self, system: str, entity: str) -> TypeIndex:
        with self._lock:
            index = self._types.get((system, entity))
            if index is None:
                index = TypeIndex(self.landing_root, self.tenant, self.env, system, entity)
                self._types[(system, entity)] = index
            return index
