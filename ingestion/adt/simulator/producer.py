"""The Kafka-like producer: clean events in, envelope records out (dirt, duplicates, offsets).

The topic ``adt.events`` has four partitions; a hospital always writes to the same one,
``(hospital_id - 1) % 4`` of the *true* hospital, so a garbled hospital_id never moves a record
and per-stay order holds within a partition, as keyed Kafka topics guarantee. Offsets count up
from 0 per partition for the life of the feed and are never reused: a duplicate is a re-send,
so it gets the next offset like any other record. Producer times strictly increase across the
whole stream (batch ids built from them therefore sort chronologically).

Dirt is decided per event from an RNG keyed by the event, so the same event is dirty the same
way whether it is written by a daily run, a follow run, or a dry run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random
from typing import Any

from ingestion.adt.simulator.dirty import DUPLICATE_EVENT, DirtyRates, choose_scenario, inject
from ingestion.adt.simulator.engine import CleanEvent

TOPIC = "adt.events"
PARTITIONS = 4
MAX_DUPLICATE_DELAY = 3  # a re-send goes out within this many records of the original
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def partition_of(hospital: int) -> int:
    return (hospital - 1) % PARTITIONS


def iso_micros(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:06d}Z"


@dataclass(frozen=True)
class Record:
    """One line of the topic."""

    partition: int
    offset: int
    key: str
    producer_us: int
    event: dict[str, Any]
    event_type: str  # the true type (the wire copy may have lost it)
    dirty: dict[str, Any] | None  # ground-truth entry, for dirty records only
    duplicate: bool

    def envelope(self) -> dict[str, Any]:
        return {
            "topic": TOPIC,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "producer_time": iso_micros(self.producer_us),
            "event": self.event,
        }

    def line(self) -> str:
        return _ENCODER.encode(self.envelope())


@dataclass
class _PendingDuplicate:
    clean: CleanEvent
    offset: int
    producer_us: int
    countdown: int
    delay_us: int


class Producer:
    """Stamps, garbles and numbers records; holds the topic's offsets and producer clock."""

    def __init__(self, seed: int, rates: DirtyRates, next_offsets: list[int], last_producer_us: int) -> None:
        if len(next_offsets) != PARTITIONS:
            raise ValueError(f"need {PARTITIONS} partition offsets, got {next_offsets}")
        self.seed = seed
        self.rates = rates
        self.next_offsets = list(next_offsets)
        self.last_producer_us = last_producer_us
        self._pending: list[_PendingDuplicate] = []

    def emit(self, clean: CleanEvent, sent_at_us: int | None = None) -> list[Record]:
        """The records sending ``clean`` produces now: it, and any re-sends that fall due.

        ``sent_at_us`` is the wall-clock send time (follow mode); by default the event is sent
        a moment after it happened, which keeps daily runs byte-for-byte reproducible.
        """
        rng = Random(f"{self.seed}:adt:emit:{clean.seq}")
        lag_us = rng.randint(50_000, 2_500_000)
        scenario = choose_scenario(rng, self.rates, clean.event_type)
        event = clean.event
        truth: dict[str, Any] | None = None
        if scenario is not None and scenario != DUPLICATE_EVENT:
            event = dict(clean.event)
            truth = {
                "event_id": clean.event["event_id"],
                "scenario": scenario,
                **inject(rng, scenario, event),
            }
        wanted = sent_at_us if sent_at_us is not None else clean.time * 1_000_000 + lag_us
        record = self._record(clean, event, wanted, truth, duplicate=False)
        records = [record]
        if scenario == DUPLICATE_EVENT:
            self._pending.append(
                _PendingDuplicate(
                    clean,
                    record.offset,
                    record.producer_us,
                    countdown=rng.randint(0, MAX_DUPLICATE_DELAY),
                    delay_us=rng.randint(200_000, 3_000_000),
                )
            )
        still: list[_PendingDuplicate] = []
        for pending in self._pending:
            if pending.countdown == 0:
                records.append(self._duplicate(pending))
            else:
                pending.countdown -= 1
                still.append(pending)
        self._pending = still
        return records

    def flush(self) -> list[Record]:
        """Send every re-send still waiting (a batch never leaves one for the next)."""
        records = [self._duplicate(pending) for pending in self._pending]
        self._pending = []
        return records

    def bump_clock(self, micros: int) -> int:
        """Advance the producer clock to at least ``micros`` (for a batch with no records)."""
        self.last_producer_us = max(micros, self.last_producer_us + 1)
        return self.last_producer_us

    def _duplicate(self, pending: _PendingDuplicate) -> Record:
        clean = pending.clean
        record = self._record(
            clean, clean.event, pending.producer_us + pending.delay_us, None, duplicate=True
        )
        truth = {
            "event_id": clean.event["event_id"],
            "scenario": DUPLICATE_EVENT,
            "field": "offset",
            "original": pending.offset,
            "injected": record.offset,
        }
        return Record(
            record.partition,
            record.offset,
            record.key,
            record.producer_us,
            record.event,
            record.event_type,
            truth,
            duplicate=True,
        )

    def _record(
        self,
        clean: CleanEvent,
        event: dict[str, Any],
        wanted_us: int,
        truth: dict[str, Any] | None,
        *,
        duplicate: bool,
    ) -> Record:
        partition = partition_of(clean.hospital)
        offset = self.next_offsets[partition]
        self.next_offsets[partition] = offset + 1
        stamp = self.bump_clock(wanted_us)
        return Record(partition, offset, clean.patient_id, stamp, event, clean.event_type, truth, duplicate)
