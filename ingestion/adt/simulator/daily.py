"""``simulate_adt_day`` and ``dry_run``: whole simulated days of the ADT topic.

The first call on an empty landing zone starts the feed 14 days before the requested day with
empty hospitals and writes those days too (``mode: warmup``), so by the requested day the
census is in steady state and discharges match admissions. Later calls continue from the
stored state; days skipped since the last run are written first (``mode: catchup``), because
a real feed has no gaps: without them, stays admitted before the gap would never end.
Re-running a day that is complete returns what its manifests say and writes nothing.

Each day is cut into batches of ``events_per_batch`` records; the day's last batch carries the
engine state and ``day_complete: true``. In daily runs producer times are the event times plus
a small send lag, so the same seed and sequence of days always writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ingestion.adt.simulator.batches import BatchOutput, FolderOutput, ListOutput, NullOutput
from ingestion.adt.simulator.departments import load_wards
from ingestion.adt.simulator.dirty import SCENARIOS, DirtyRates
from ingestion.adt.simulator.engine import ADMISSION, DISCHARGE, TRANSFER, local_day, local_midnight
from ingestion.adt.simulator.feed import CENSUS_COUNTERS, Feed, FilledBatch, OpenOutput
from ingestion.adt.simulator.producer import TOPIC
from ingestion.adt.simulator.store import CURSOR_KEY, STATE_KEY, SYSTEM, AdtLanding

WARMUP_DAYS = 14
DEFAULT_EVENTS_PER_BATCH = 500
FORMAT = "application/x-ndjson"


OnBatch = Callable[[str, int], None]  # (batch_id, records), called once each batch is published


@dataclass
class AdtSimulationResult:
    """The batches that hold one simulated day (read back from their manifests)."""

    day: date
    batch_ids: list[str]
    files: list[Path]
    events: int  # records written, re-sent duplicates included
    dirty_by_scenario: dict[str, int]
    admissions: int
    discharges: int
    transfers: int
    census: dict[str, int] = field(default_factory=dict)  # turned away, diverted, boarding...
    occupied_beds: int | None = None  # at the end of the day
    warmup_batch_ids: list[str] = field(default_factory=list)  # earlier days this call wrote first


def day_mode(day: date, epoch: date) -> str:
    """How a day written before the requested one is labelled: the feed's first 14 days are its
    warm-up, any later one is a catch-up (a pure function of the day, so a re-run after a crash
    labels it the same)."""
    return "warmup" if day < epoch + timedelta(days=WARMUP_DAYS) else "catchup"


def _days(first: date, last: date) -> Iterator[date]:
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)


def manifest_extra(
    feed: Feed,
    filled: FilledBatch,
    *,
    mode: str,
    day: date | None,
    tenant: str,
    env: str,
    with_state: bool,
) -> dict[str, Any]:
    """Everything a manifest says besides its files: content facts, cursor, and maybe the state."""
    summary = filled.summary
    extra: dict[str, Any] = {
        "source": SYSTEM,
        "system": SYSTEM,
        "entity": "events",
        "topic": TOPIC,
        "tenant": tenant,
        "env": env,
        "batch_id": summary.batch_id,
        "sequence": summary.sequence,
        "mode": mode,
        "day": day.isoformat() if day is not None else None,
        "seed": feed.seed,
        "format": FORMAT,
        **summary.facts(),
        "census": filled.census,
        "day_complete": filled.exhausted and day is not None,
        CURSOR_KEY: filled.cursor.to_json(),
    }
    if with_state:
        extra["occupied_beds"] = feed.engine.occupied_beds()
        extra[STATE_KEY] = feed.state_json()
    return extra


def write_day(
    feed: Feed,
    store: AdtLanding,
    day: date,
    mode: str,
    events_per_batch: int,
    on_batch: OnBatch | None = None,
) -> list[str]:
    """Write the rest of ``day`` (local time) as batches; the last one carries the state."""
    until = local_midnight(day + timedelta(days=1))
    source = feed.engine.events(until)
    batch_ids: list[str] = []
    while True:
        filled = feed.fill(
            source,
            lambda batch_id: FolderOutput(store.folder(batch_id)),
            limit=events_per_batch,
            look_ahead=True,
            empty_batch_us=until * 1_000_000,
        )
        if filled.output is None or filled.summary.batch_id is None:
            raise AssertionError("a day's batch always opens (an empty end of day still carries state)")
        extra = manifest_extra(
            feed, filled, mode=mode, day=day, tenant=store.tenant, env=store.env, with_state=filled.exhausted
        )
        try:
            filled.output.publish(filled.summary.truth, extra)
        except BaseException:
            filled.output.abort()
            raise
        batch_ids.append(filled.summary.batch_id)
        if on_batch is not None:
            on_batch(filled.summary.batch_id, filled.summary.records)
        if filled.exhausted:
            return batch_ids


def simulate_adt_day(
    landing_root: Path,
    *,
    day: date,
    seed: int = 42,
    tenant: str = "carehouse",
    env: str = "dev",
    events_per_batch: int = DEFAULT_EVENTS_PER_BATCH,
    dirty_rates: DirtyRates | None = None,
    on_batch: OnBatch | None = None,
) -> AdtSimulationResult:
    """Land the ADT events of ``day`` (the hospitals' local day) and describe that day's batches.

    Deterministic: the same seed and the same sequence of days give byte-identical files.
    ``dirty_rates`` only changes what is sent, never what happens in the hospitals.
    """
    rates = dirty_rates if dirty_rates is not None else DirtyRates()
    store = AdtLanding(Path(landing_root), tenant, env)
    with store.producer_lock():
        done = store.day_manifests(day)
        if any(manifest.get("day_complete") for _, manifest in done):
            return _result(day, done)
        feed = store.resume(seed, rates)
        if feed is None:
            first = day - timedelta(days=WARMUP_DAYS)
            feed = Feed.fresh(seed, first, load_wards(), rates)
        else:
            if day < feed.engine.epoch:
                raise ValueError(f"{day} is before the ADT feed's first day ({feed.engine.epoch})")
            first = local_day(feed.engine.position[0])
            if day < first:  # the clock is past the day: a follow run streamed it
                return _result(day, done)
        earlier: list[str] = []
        for current in _days(first, day):
            mode = "day" if current == day else day_mode(current, feed.engine.epoch)
            written = write_day(feed, store, current, mode, events_per_batch, on_batch)
            if current != day:
                earlier.extend(written)
        result = _result(day, store.day_manifests(day))
        result.warmup_batch_ids = earlier
        return result


def _result(day: date, found: list[tuple[Path, dict[str, Any]]]) -> AdtSimulationResult:
    files: list[Path] = []
    dirty = dict.fromkeys(SCENARIOS, 0)
    census = dict.fromkeys(CENSUS_COUNTERS, 0)
    kinds = {ADMISSION: 0, TRANSFER: 0, DISCHARGE: 0}
    records = 0
    occupied: int | None = None
    for folder, manifest in found:
        files.extend(folder / name for name in manifest["files"])
        records += int(manifest["records"])
        for scenario, count in manifest["dirty"].items():
            dirty[scenario] += int(count)
        for name, count in manifest["census"].items():
            census[name] = census.get(name, 0) + int(count)
        for kind, count in manifest["events"].items():
            kinds[kind] += int(count)
        if manifest.get("day_complete"):
            occupied = manifest.get("occupied_beds")
    return AdtSimulationResult(
        day=day,
        batch_ids=[folder.name for folder, _ in found],
        files=files,
        events=records,
        dirty_by_scenario=dirty,
        admissions=kinds[ADMISSION],
        discharges=kinds[DISCHARGE],
        transfers=kinds[TRANSFER],
        census=census,
        occupied_beds=occupied,
    )


def _always(output: BatchOutput) -> OpenOutput:
    """An output opener that hands out the same in-memory output for every batch id."""

    def open_output(batch_id: str) -> BatchOutput:
        return output

    return open_output


def dry_run(
    *,
    max_events: int,
    seed: int = 42,
    day: date,
    dirty_rates: DirtyRates | None = None,
    events_per_batch: int = DEFAULT_EVENTS_PER_BATCH,
) -> Iterator[dict[str, Any]]:
    """Yield the envelopes ``simulate_adt_day`` would write for ``day`` on an empty landing zone.

    The warm-up runs in memory first (nothing is yielded or written for it), so offsets, ids
    and the census are those of the real thing; past the end of ``day`` the stream goes on
    into the following days until ``max_events`` records have been yielded.
    """
    if max_events < 1:
        return
    rates = dirty_rates if dirty_rates is not None else DirtyRates()
    feed = Feed.fresh(seed, day - timedelta(days=WARMUP_DAYS), load_wards(), rates)
    quiet = _always(NullOutput())
    for current in _days(day - timedelta(days=WARMUP_DAYS), day - timedelta(days=1)):
        until = local_midnight(current + timedelta(days=1))
        source = feed.engine.events(until)
        filled = None
        while filled is None or not filled.exhausted:
            filled = feed.fill(
                source,
                quiet,
                limit=events_per_batch,
                look_ahead=True,
                empty_batch_us=until * 1_000_000,
            )
    yielded = 0
    current = day
    while True:
        until = local_midnight(current + timedelta(days=1))
        source = feed.engine.events(until)
        exhausted = False
        while not exhausted:
            collected = ListOutput()
            filled = feed.fill(
                source,
                _always(collected),
                limit=events_per_batch,
                look_ahead=True,
                empty_batch_us=until * 1_000_000,
            )
            exhausted = filled.exhausted
            for record in collected.records:
                yield record.envelope()
                yielded += 1
                if yielded >= max_events:
                    return
        current += timedelta(days=1)
