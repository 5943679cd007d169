"""Where records go: a batch folder in the landing zone, or nowhere (warm-up of a dry run), or a list.

A batch folder is ``events/{batch_id}/`` with ``events-0000.ndjson`` (more parts past
``PART_LINES``), then ``dirty.json`` (the ground truth), then ``manifest.json`` last and
atomically: loaders only ever see complete batches. Parts are streamed under temp names and
renamed when full, so memory stays flat whatever the batch size.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from ingestion.adt.simulator.dirty import SCENARIOS
from ingestion.adt.simulator.engine import EVENT_TYPES
from ingestion.adt.simulator.producer import PARTITIONS, Record, iso_micros
from ingestion.landing import LANDING_MANIFEST, temp_path_for, write_atomic, write_manifest

PART_LINES = 50_000
DIRTY_FILE = "dirty.json"
DATA_PREFIX = "events"


def batch_id_for(producer_us: int, sequence: int) -> str:
    """``20250301T101500Z-000042``: the producer's UTC second, then the feed's batch counter."""
    moment = datetime.fromtimestamp(producer_us // 1_000_000, UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{sequence:06d}"


def sequence_of(batch_id: str) -> int:
    return int(batch_id.rsplit("-", 1)[1])


@dataclass
class BatchSummary:
    """What a batch holds, accumulated record by record (it becomes the manifest's facts)."""

    sequence: int
    batch_id: str | None = None
    records: int = 0
    duplicates: int = 0
    events: Counter[str] = field(default_factory=Counter)  # true types, re-sends not counted
    dirty: Counter[str] = field(default_factory=Counter)
    offsets: dict[int, list[int]] = field(default_factory=dict)
    event_times: list[str] = field(default_factory=list)  # [first, last]
    producer_us: list[int] = field(default_factory=list)  # [first, last]
    truth: list[dict[str, Any]] = field(default_factory=list)

    def add(self, record: Record) -> None:
        self.records += 1
        if record.duplicate:
            self.duplicates += 1
        else:
            self.events[record.event_type] += 1
        if record.dirty is not None:
            self.dirty[record.dirty["scenario"]] += 1
            self.truth.append(record.dirty)
        span = self.offsets.setdefault(record.partition, [record.offset, record.offset])
        span[1] = record.offset
        moment = record.event.get("event_time")
        if not record.duplicate and isinstance(moment, str):
            self.event_times = [self.event_times[0] if self.event_times else moment, moment]
        self.producer_us = [
            self.producer_us[0] if self.producer_us else record.producer_us,
            record.producer_us,
        ]

    def facts(self) -> dict[str, Any]:
        """The manifest's description of the batch's content."""
        return {
            "records": self.records,
            "duplicates": self.duplicates,
            "events": {kind: self.events[kind] for kind in EVENT_TYPES},
            "dirty": {scenario: self.dirty[scenario] for scenario in SCENARIOS},
            "offsets": {str(p): self.offsets.get(p) for p in range(PARTITIONS)},
            "event_time_range": self.event_times or None,
            "producer_time_range": [iso_micros(us) for us in self.producer_us] or None,
        }


class BatchOutput(Protocol):
    def write(self, record: Record) -> None: ...

    def publish(self, truth: list[dict[str, Any]], extra: dict[str, Any]) -> list[Path]: ...

    def abort(self) -> None: ...


class NullOutput:
    """Counts nothing, writes nothing: replaying history that is already on disk (or not wanted)."""

    def write(self, record: Record) -> None:
        return None

    def publish(self, truth: list[dict[str, Any]], extra: dict[str, Any]) -> list[Path]:
        return []

    def abort(self) -> None:
        return None


class ListOutput:
    """Keeps the batch's records in memory (dry runs)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)

    def publish(self, truth: list[dict[str, Any]], extra: dict[str, Any]) -> list[Path]:
        return []

    def abort(self) -> None:
        self.records.clear()


class FolderOutput:
    """Streams one batch into its landing folder and publishes it with its manifest."""

    def __init__(self, folder: Path, part_lines: int = PART_LINES) -> None:
        self.folder = folder
        self.part_lines = part_lines
        self.files: dict[str, int] = {}
        self._handle: TextIO | None = None
        self._count = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Files of an earlier attempt that crashed before its manifest: never visible, safe to drop."""
        for path in self.folder.iterdir():
            if path.is_file() and path.name != LANDING_MANIFEST:
                path.unlink()

    def _part_name(self) -> str:
        return f"{DATA_PREFIX}-{len(self.files):04d}.ndjson"

    def write(self, record: Record) -> None:
        if self._handle is None:
            self._handle = temp_path_for(self.folder / self._part_name()).open(
                "w", encoding="utf-8", newline="\n"
            )
        self._handle.write(record.line())
        self._handle.write("\n")
        self._count += 1
        if self._count >= self.part_lines:
            self._finish_part()

    def _finish_part(self) -> None:
        if self._handle is None:
            return
        name = self._part_name()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        os.replace(temp_path_for(self.folder / name), self.folder / name)
        self.files[name] = self._count
        self._count = 0

    def publish(self, truth: list[dict[str, Any]], extra: dict[str, Any]) -> list[Path]:
        """Data parts, then ``dirty.json``, then the manifest: the batch becomes visible last."""
        self._finish_part()
        text = json.dumps(truth, indent=1, ensure_ascii=False) + "\n"
        write_atomic(self.folder / DIRTY_FILE, text.encode("utf-8"))
        write_manifest(self.folder, self.files, extra, sidecars=[DIRTY_FILE])
        return [self.folder / name for name in sorted(self.files)]

    def abort(self) -> None:
        """Stop without publishing; the next run removes what was written."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
