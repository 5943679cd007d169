"""The ADT feed's own landing folder: its batches, its state, and one producer at a time.

The feed keeps no state outside its output. Every manifest has the cursor; the last batch of
each simulated day (and of each follow run, and every ``STATE_EVERY`` follow batches) also has
the engine state. To resume, the store loads the newest state (or, if the very first run died
before writing one, the empty hospitals of the feed's first day) and replays, without
writing, the events that later batches already hold, up to the newest cursor: so a run that
died between two state-carrying batches still continues with the right stays, event ids and
offsets, and never sends an offset or an event id twice.

Batches are ordered by their sequence number (the suffix of the batch id), which is also the
order of their names.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.adt.simulator.batches import DIRTY_FILE, sequence_of
from ingestion.adt.simulator.departments import load_wards
from ingestion.adt.simulator.dirty import DirtyRates
from ingestion.adt.simulator.engine import Engine, EngineState
from ingestion.adt.simulator.feed import Cursor, Feed
from ingestion.adt.simulator.producer import Producer
from ingestion.landing import LANDING_MANIFEST, complete_batches, read_manifest

SYSTEM = "adt"
ENTITY = "events"
STATE_KEY = "simulator_state"
CURSOR_KEY = "cursor"
LOCK_FILE = ".producer.lock"


class AdtLanding:
    """``{landing_root}/{tenant}/{env}/adt/events``: the batches of one tenant's ADT topic."""

    def __init__(self, landing_root: Path, tenant: str, env: str) -> None:
        self.landing_root = landing_root
        self.tenant = tenant
        self.env = env
        self.events_root = landing_root / tenant / env / SYSTEM / ENTITY
        self._manifests: dict[Path, dict[str, Any]] = {}

    def folder(self, batch_id: str) -> Path:
        return self.events_root / batch_id

    @contextmanager
    def producer_lock(self) -> Iterator[None]:
        """One producer per topic: a second one waits, then sees what the first wrote."""
        lock_path = self.events_root.parent / LOCK_FILE
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def complete(self) -> list[Path]:
        """Folders of the published batches, in sequence order."""
        folders = complete_batches(self.landing_root, self.tenant, self.env, SYSTEM, ENTITY)
        return sorted(folders, key=lambda folder: sequence_of(folder.name))

    def manifest(self, folder: Path) -> dict[str, Any]:
        """A published batch's manifest (cached: published batches never change)."""
        cached = self._manifests.get(folder)
        if cached is None:
            cached = read_manifest(folder)
            self._manifests[folder] = cached
        return cached

    def day_manifests(self, day: date) -> list[tuple[Path, dict[str, Any]]]:
        """The daily-run batches (warm-up and catch-up included) that hold ``day``'s events."""
        found = []
        for folder in self.complete():
            manifest = self.manifest(folder)
            if manifest.get("mode") != "follow" and manifest.get("day") == day.isoformat():
                found.append((folder, manifest))
        return found

    def remove_unpublished(self, next_sequence: int) -> None:
        """Drop folders of batches that were being written when a run died (never published)."""
        if not self.events_root.is_dir():
            return
        for folder in self.events_root.iterdir():
            if not folder.is_dir() or (folder / LANDING_MANIFEST).exists():
                continue
            try:
                sequence = sequence_of(folder.name)
            except (IndexError, ValueError):
                continue
            if sequence >= next_sequence:
                shutil.rmtree(folder)

    def resume(self, seed: int, rates: DirtyRates) -> Feed | None:
        """The feed exactly as it stood after the newest published batch; ``None`` if there is none."""
        folders = self.complete()
        if not folders:
            return None
        cursor = Cursor.from_json(self.manifest(folders[-1])[CURSOR_KEY])
        state: dict[str, Any] | None = None
        for folder in reversed(folders):
            state = self.manifest(folder).get(STATE_KEY)
            if state is not None:
                break
        if state is None:  # the first run died inside its first day: replay from the empty epoch
            first = self.manifest(folders[0])
            if first.get("sequence") != 1 or not first.get("day"):
                raise ValueError(f"{self.events_root}: no published batch carries the simulator state")
            state = EngineState.fresh(int(first["seed"]), date.fromisoformat(first["day"])).to_json()
        engine_state = EngineState.from_json(state)
        if engine_state.seed != seed:
            raise ValueError(
                f"{self.events_root} was simulated with seed {engine_state.seed}, not {seed}: "
                "a feed continues with the seed it started with"
            )
        engine = Engine(engine_state, load_wards())
        if engine.next_event_seq < cursor.next_event_seq:
            for _ in engine.events():
                if engine.next_event_seq >= cursor.next_event_seq:
                    break
        if (engine.next_event_seq, engine.position) != (cursor.next_event_seq, cursor.position):
            raise ValueError(f"{self.events_root}: the state does not replay to the newest cursor")
        producer = Producer(seed, rates, list(cursor.next_offsets), cursor.last_producer_us)
        self.remove_unpublished(cursor.next_sequence)
        return Feed(engine, producer, cursor.next_sequence)


def read_dirty_manifests(
    landing_root: Path, tenant: str = "carehouse", env: str = "dev"
) -> list[dict[str, Any]]:
    """Every ground-truth entry of every published batch, in stream order, with its ``batch_id``.

    Entries are ``{event_id, scenario, field, original, injected}``; for a DUPLICATE_EVENT the
    field is ``offset``, original the first record's offset and injected the re-send's.
    """
    store = AdtLanding(landing_root, tenant, env)
    entries: list[dict[str, Any]] = []
    for folder in store.complete():
        with (folder / DIRTY_FILE).open(encoding="utf-8") as handle:
            for entry in json.load(handle):
                entries.append({**entry, "batch_id": folder.name})
    return entries
