"""``follow``: the ADT topic as a live stream of micro-batches, continuing from the stored state.

Every ``batch_seconds`` of wall time, the records due at ``events_per_second`` are sent as one
batch: the simulation clock runs on (event times continue where the last run stopped, at
whatever pace the rate asks for), while producer times are the wall clock, spread over the
window. Offsets and batch numbers continue the topic's, so a loader cannot tell a follow batch
from a daily one except by its manifest's ``mode: follow``.

The last batch of a run (and every ``STATE_EVERY``-th) carries the engine state. A run killed
in between loses nothing: the next run replays from the newest state to the newest cursor.
Ctrl-C ends a run cleanly after the batch in flight is dropped (it was never published).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.adt.simulator.batches import BatchOutput, FolderOutput
from ingestion.adt.simulator.daily import (
    DEFAULT_EVENTS_PER_BATCH,
    WARMUP_DAYS,
    OnBatch,
    day_mode,
    manifest_extra,
    write_day,
)
from ingestion.adt.simulator.departments import load_wards
from ingestion.adt.simulator.dirty import SCENARIOS, DirtyRates
from ingestion.adt.simulator.engine import ADMISSION, DISCHARGE, TRANSFER, CleanEvent, local_day
from ingestion.adt.simulator.feed import Feed
from ingestion.adt.simulator.store import AdtLanding
from ingestion.ehr.simulator.clock import HOSPITAL_TZ

STATE_EVERY = 30  # batches between state checkpoints (a minute at the default 2 s windows)


@dataclass
class AdtFollowResult:
    """What one follow run published."""

    batch_ids: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    events: int = 0  # records, re-sends included
    dirty_by_scenario: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCENARIOS, 0))
    admissions: int = 0
    discharges: int = 0
    transfers: int = 0
    wall_seconds: float = 0.0
    interrupted: bool = False
    warmup_batch_ids: list[str] = field(default_factory=list)


def _spread(start: float, end: float, count: int) -> Callable[[CleanEvent], int]:
    """Producer times evenly over the window, as if each record went out as it became due."""
    step = (end - start) / max(count, 1)
    sent = 0

    def stamp(_: CleanEvent) -> int:
        nonlocal sent
        sent = min(sent + 1, count)
        return int((start + step * sent) * 1_000_000)

    return stamp


def follow(
    landing_root: Path,
    *,
    events_per_second: float,
    max_events: int | None = None,
    duration_s: float | None = None,
    seed: int = 42,
    tenant: str = "carehouse",
    env: str = "dev",
    batch_seconds: float = 2.0,
    on_batch: OnBatch | None = None,
    dirty_rates: DirtyRates | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> AdtFollowResult:
    """Stream micro-batches until ``max_events`` records, ``duration_s`` seconds, or Ctrl-C.

    With neither limit it runs until interrupted. On an empty landing zone it first writes the
    14-day warm-up before today, like the first daily run would.
    """
    if events_per_second <= 0 or batch_seconds <= 0:
        raise ValueError("events_per_second and batch_seconds must be positive")
    rates = dirty_rates if dirty_rates is not None else DirtyRates()
    store = AdtLanding(Path(landing_root), tenant, env)
    result = AdtFollowResult()
    with store.producer_lock():
        feed = store.resume(seed, rates)
        if feed is None:
            today = datetime.fromtimestamp(clock(), UTC).astimezone(HOSPITAL_TZ).date()
            feed = Feed.fresh(seed, today - timedelta(days=WARMUP_DAYS), load_wards(), rates)
        # The feed's first 14 days are its warm-up, written as whole days before any streaming
        # (also when a first run died during them).
        warm_until = feed.engine.epoch + timedelta(days=WARMUP_DAYS)
        day = local_day(feed.engine.position[0])
        while day < warm_until:
            result.warmup_batch_ids += write_day(
                feed, store, day, day_mode(day, feed.engine.epoch), DEFAULT_EVENTS_PER_BATCH, on_batch
            )
            day += timedelta(days=1)
        _stream(
            feed,
            store,
            result,
            events_per_second,
            max_events,
            duration_s,
            batch_seconds,
            on_batch,
            clock,
            sleep,
        )
    return result


def _stream(
    feed: Feed,
    store: AdtLanding,
    result: AdtFollowResult,
    events_per_second: float,
    max_events: int | None,
    duration_s: float | None,
    batch_seconds: float,
    on_batch: OnBatch | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    source = feed.engine.events()
    start = window_start = clock()
    since_state = 0
    in_flight: BatchOutput | None = None
    try:
        while max_events is None or result.events < max_events:
            if duration_s is not None and window_start - start >= duration_s:
                break
            deadline = window_start + batch_seconds
            if duration_s is not None:
                deadline = min(deadline, start + duration_s)
            sleep(max(0.0, deadline - clock()))
            now = clock()
            due = int(events_per_second * (now - start)) - result.events
            if max_events is not None:
                due = min(due, max_events - result.events)
            if due <= 0:
                window_start = now
                continue

            def open_folder(batch_id: str) -> BatchOutput:
                nonlocal in_flight
                in_flight = FolderOutput(store.folder(batch_id))
                return in_flight

            filled = feed.fill(
                source, open_folder, limit=due, look_ahead=False, stamp=_spread(window_start, now, due)
            )
            final = (max_events is not None and result.events + filled.summary.records >= max_events) or (
                duration_s is not None and now - start >= duration_s
            )
            since_state += 1
            with_state = final or since_state >= STATE_EVERY
            extra = manifest_extra(
                feed,
                filled,
                mode="follow",
                day=None,
                tenant=store.tenant,
                env=store.env,
                with_state=with_state,
            )
            if filled.output is None or filled.summary.batch_id is None:
                raise AssertionError("a follow batch with records due always opens")
            files = filled.output.publish(filled.summary.truth, extra)
            in_flight = None
            if with_state:
                since_state = 0
            _count(result, filled.summary.batch_id, files, extra)
            if on_batch is not None:
                on_batch(filled.summary.batch_id, filled.summary.records)
            window_start = now
    except KeyboardInterrupt:
        if in_flight is not None:
            in_flight.abort()
        result.interrupted = True
    result.wall_seconds = clock() - start


def _count(result: AdtFollowResult, batch_id: str, files: list[Path], extra: dict[str, Any]) -> None:
    events, dirty = extra["events"], extra["dirty"]
    result.batch_ids.append(batch_id)
    result.files.extend(files)
    result.events += int(extra["records"])
    result.admissions += int(events[ADMISSION])
    result.transfers += int(events[TRANSFER])
    result.discharges += int(events[DISCHARGE])
    for scenario, count in dirty.items():
        result.dirty_by_scenario[scenario] += int(count)
