"""Streaming NDJSON part writer for one entity's batch, with the feed's realistic defects.

Resources are serialised and written one at a time (bounded memory at any scale). Each part is
written under a temp name and renamed when full or closed, so a crash leaves no half file under
a data-file name. Defects are injected here, per line, from the writer's own seeded RNG:
truncated lines (broken JSON) and resources without ``id`` (valid JSON, invalid as a record).
Every line stays one line: ``json`` escapes control characters, and truncation only cuts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any, TextIO

from ingestion.landing import DATA_FILE_PATTERN, temp_path_for

PART_LINES = 100_000
TRUNCATED_RATE = 0.003
MISSING_ID_RATE = 0.002
# Resources are trees of fresh dicts, never cyclic: skipping the cycle check is ~20% faster.
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=False, check_circular=False)
_WRITE_BUFFER = 1 << 20


class EntityBatchWriter:
    """Writes ``{entity}-{part:04d}.ndjson`` files into one batch folder.

    ``dry=True`` generates and counts without touching the disk: used when this batch already
    has a manifest but a sibling batch of the same extract still has to be (re)written.
    ``defects=None`` writes clean lines (reference data, which real feeds rarely garble).
    """

    def __init__(
        self,
        folder: Path,
        entity: str,
        *,
        defects: Random | None,
        dry: bool = False,
        part_lines: int = PART_LINES,
        on_lines: Callable[[int], None] | None = None,
    ) -> None:
        self.folder = folder
        self.entity = entity
        self.files: dict[str, int] = {}
        self.lines = 0
        self.malformed = 0
        self.resources = 0
        self._defects = defects
        self._dry = dry
        self._part_lines = part_lines
        self._on_lines = on_lines
        self._handle: TextIO | None = None
        self._part_count = 0
        if not dry:
            folder.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Files of an earlier run that crashed before the manifest: never visible, safe to drop."""
        # data files, and the temp files writers leave (``.<name>.<pid>.tmp``, see temp_path_for)
        for pattern in (DATA_FILE_PATTERN, f".{DATA_FILE_PATTERN}*.tmp"):
            for path in self.folder.glob(pattern):
                path.unlink()

    def write(self, resource: dict[str, Any], *, resend: bool = False) -> None:
        """Write one resource; ``resend`` marks an earlier version of a resource already counted."""
        line = self._render(resource)
        if self._handle is None and not self._dry:
            self._open_part()
        if self._handle is not None:
            self._handle.write(line)
            self._handle.write("\n")
        self.lines += 1
        self._part_count += 1
        if not resend:
            self.resources += 1
        if self._part_count >= self._part_lines:
            self._finish_part()
        if self._on_lines is not None and self.lines % 10_000 == 0:
            self._on_lines(10_000)

    def _render(self, resource: dict[str, Any]) -> str:
        if self._defects is None:
            return _ENCODER.encode(resource)
        roll = self._defects.random()
        if roll < TRUNCATED_RATE:
            self.malformed += 1
            text = _ENCODER.encode(resource)
            return text[: self._defects.randint(1, len(text) - 1)]
        if roll < TRUNCATED_RATE + MISSING_ID_RATE:
            self.malformed += 1
            return _ENCODER.encode({key: value for key, value in resource.items() if key != "id"})
        return _ENCODER.encode(resource)

    def _part_name(self) -> str:
        """Parts are numbered from 0000 in the order they fill up."""
        return f"{self.entity}-{len(self.files):04d}.ndjson"

    def _open_part(self) -> None:
        self._handle = temp_path_for(self.folder / self._part_name()).open(
            "w", encoding="utf-8", newline="\n", buffering=_WRITE_BUFFER
        )

    def _finish_part(self) -> None:
        if self._part_count == 0:
            return
        name = self._part_name()
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            os.replace(temp_path_for(self.folder / name), self.folder / name)
        self.files[name] = self._part_count
        self._part_count = 0

    def close(self) -> dict[str, int]:
        """Finish the last part; returns {file name: line count} for the manifest."""
        self._finish_part()
        if self._on_lines is not None and self.lines % 10_000:
            self._on_lines(self.lines % 10_000)
        return dict(self.files)

    def abort(self) -> None:
        """Close without publishing: the temp part stays invisible and is removed on the next run."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
