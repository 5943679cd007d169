"""The feed: the census engine and the producer together, cut into batches.

A batch ends at its record limit or when the source runs dry (the end of a simulated day).
Re-sends still pending are sent before a batch closes, so no duplicate ever straddles two
batches. Every manifest gets the feed's *cursor* (position, event counter, partition offsets,
batch counter, producer clock), which is small; only some manifests also carry the full engine
state (open stays), and a resume replays the few events between that state and the latest
cursor without writing them (see ``store``).

In daily runs a batch looks one event ahead, so the batch that ends a day knows it does and
can carry that day's state; the cursor is taken before the look-ahead, so it always names the
last event actually in the batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ingestion.adt.simulator.batches import BatchOutput, BatchSummary, batch_id_for
from ingestion.adt.simulator.departments import Ward
from ingestion.adt.simulator.dirty import DirtyRates
from ingestion.adt.simulator.engine import CleanEvent, Engine, EngineState, Position
from ingestion.adt.simulator.producer import PARTITIONS, Producer, Record

CENSUS_COUNTERS = ("turned_away", "diverted", "electives_cancelled", "boarding_waits", "transfers_abandoned")
OpenOutput = Callable[[str], BatchOutput]
Stamp = Callable[[CleanEvent], int]


@dataclass(frozen=True)
class Cursor:
    """Where the feed stands after a batch: enough to continue numbering without reuse."""

    position: Position
    next_event_seq: int
    next_offsets: tuple[int, ...]
    next_sequence: int
    last_producer_us: int

    def to_json(self) -> dict[str, Any]:
        return {
            "position": list(self.position),
            "next_event_seq": self.next_event_seq,
            "next_offsets": list(self.next_offsets),
            "next_sequence": self.next_sequence,
            "last_producer_us": self.last_producer_us,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cursor:
        a, b, c, d = (int(x) for x in data["position"])
        return cls(
            position=(a, b, c, d),
            next_event_seq=int(data["next_event_seq"]),
            next_offsets=tuple(int(x) for x in data["next_offsets"]),
            next_sequence=int(data["next_sequence"]),
            last_producer_us=int(data["last_producer_us"]),
        )


@dataclass
class FilledBatch:
    """A batch whose records are written but which is not yet published."""

    summary: BatchSummary
    output: BatchOutput | None  # None: the batch is empty and nothing needed publishing
    exhausted: bool  # the source ran dry (the day is over)
    cursor: Cursor
    census: dict[str, int]  # what happened at the doors and wards while the batch was made


class Feed:
    def __init__(self, engine: Engine, producer: Producer, next_sequence: int) -> None:
        self.engine = engine
        self.producer = producer
        self.next_sequence = next_sequence
        self._carry: CleanEvent | None = None
        self._mark: Counter[str] = Counter(engine.stats)

    @classmethod
    def fresh(cls, seed: int, epoch: date, wards: dict[tuple[int, str], Ward], rates: DirtyRates) -> Feed:
        """A feed that has never sent anything: empty hospitals at the epoch, offsets at 0."""
        engine = Engine(EngineState.fresh(seed, epoch), wards)
        return cls(engine, Producer(seed, rates, [0] * PARTITIONS, 0), next_sequence=1)

    @property
    def seed(self) -> int:
        return self.engine.seed

    def fill(
        self,
        source: Iterator[CleanEvent],
        open_output: OpenOutput,
        *,
        limit: int,
        look_ahead: bool,
        stamp: Stamp | None = None,
        empty_batch_us: int | None = None,
    ) -> FilledBatch:
        """Send events from ``source`` until ``limit`` records (re-sends included) or it runs dry.

        ``empty_batch_us``: if the batch would be empty, still open one stamped at that time
        (the end of a day must be published, to carry the day's state).
        """
        if limit < 1:
            raise ValueError("a batch holds at least one record")
        summary = BatchSummary(self.next_sequence)
        output: BatchOutput | None = None

        def put(records: list[Record]) -> None:
            nonlocal output
            for record in records:
                if output is None:
                    summary.batch_id = batch_id_for(record.producer_us, summary.sequence)
                    output = open_output(summary.batch_id)
                output.write(record)
                summary.add(record)

        exhausted = False
        while summary.records < limit:
            clean = self._carry if self._carry is not None else next(source, None)
            self._carry = None
            if clean is None:
                exhausted = True
                break
            put(self.producer.emit(clean, stamp(clean) if stamp is not None else None))
        position, next_event_seq = self.engine.position, self.engine.next_event_seq
        put(self.producer.flush())
        mark = Counter(self.engine.stats)
        if not exhausted and look_ahead:
            upcoming = next(source, None)
            if upcoming is None:
                exhausted = True
                mark = Counter(self.engine.stats)
                position, next_event_seq = self.engine.position, self.engine.next_event_seq
            else:
                self._carry = upcoming
        if output is None and empty_batch_us is not None:
            summary.batch_id = batch_id_for(self.producer.bump_clock(empty_batch_us), summary.sequence)
            output = open_output(summary.batch_id)
        census = {name: mark[name] - self._mark[name] for name in CENSUS_COUNTERS}
        self._mark = mark
        if output is not None:
            self.next_sequence += 1
        cursor = Cursor(
            position=position,
            next_event_seq=next_event_seq,
            next_offsets=tuple(self.producer.next_offsets),
            next_sequence=self.next_sequence,
            last_producer_us=self.producer.last_producer_us,
        )
        return FilledBatch(summary, output, exhausted, cursor, census)

    def state_json(self) -> dict[str, Any]:
        """The engine's full state; only valid between batches with nothing carried over."""
        if self._carry is not None:
            raise RuntimeError("the feed looked ahead past this batch; its state is not the batch's")
        return self.engine.snapshot().to_json()
