"""The census: a discrete-event simulation of every bed in the network, producing clean ADT events.

Items are processed strictly in (time, rank, a, b) order: ward events of open stays (transfer
or discharge due, rank 0) before arrivals (rank 1) in the same second, so a bed freed at
10:00:00 can take the patient arriving at 10:00:00. A patient only ever gets a free bed of
the ward's staffed capacity; when a ward is full the arrival is diverted to the nearest
hospital in the same state with a free bed, or turned away (an elective is cancelled), and a
transfer waits (the patient boards where they are) until a bed frees up. So the true census
never double-books a bed and never exceeds 100% occupancy.

Everything random is drawn from RNGs keyed by what it concerns (the hour's arrivals, one
arrival, one event), never from a shared stream, so the simulation is the same however it is
cut into batches, days or follow-mode windows, and can stop anywhere and resume from
``EngineState``: open stays (with their next step), counters and the position reached.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from random import Random
from typing import Any

from ingestion.adt.simulator.arrivals import HOUR, Arrival, arrivals_in_hour, is_surge
from ingestion.adt.simulator.clinical import (
    MAX_TRANSFERS,
    arrival_ward,
    draw_vitals,
    plan_segment,
    transfer_wait_seconds,
)
from ingestion.adt.simulator.codes import draw_diagnosis, draw_priority
from ingestion.adt.simulator.departments import DEPARTMENT_NAMES, Ward, hospital_beds
from ingestion.adt.simulator.patients import REGISTRY_START, profile, stay_insurance
from ingestion.ehr.simulator.clock import HOSPITAL_TZ
from ingestion.ehr.simulator.facilities import HOSPITALS

STATE_VERSION = 1
RETURNING_SHARE = 0.3  # of arrivals: a patient the network has seen before
RECENT_RETURN_SHARE = 0.5  # of returns: someone registered recently (readmissions)
RECENT_WINDOW = 5000  # "recently": among the last this many registered patients
MAX_BOARDING_WAITS = 8  # failed transfer attempts before the ward keeps the patient
ADMISSION, TRANSFER, DISCHARGE = "ADMISSION", "TRANSFER", "DISCHARGE"
EVENT_TYPES = (ADMISSION, TRANSFER, DISCHARGE)
Position = tuple[int, int, int, int]
_ID_MULTIPLIER = 0x9E3779B97F4B  # odd, so multiplication is a bijection modulo 2**48
_ID_MASK = (1 << 48) - 1


@functools.cache
def _id_salt(seed: int) -> int:
    return int(hashlib.sha256(f"{seed}:adt:event-id".encode()).hexdigest()[:12], 16)


def event_id(seed: int, seq: int) -> str:
    """``ADT-`` + 12 hex digits: looks random, but is a bijection of the event's sequence number,
    so ids never collide within a feed (a hash of 48 bits would, eventually)."""
    return f"ADT-{((seq * _ID_MULTIPLIER) & _ID_MASK) ^ _id_salt(seed):012x}"


def iso_utc(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_day(epoch_seconds: int) -> date:
    return datetime.fromtimestamp(epoch_seconds, UTC).astimezone(HOSPITAL_TZ).date()


def local_midnight(day: date) -> int:
    """Epoch seconds of the hospitals' local midnight starting ``day`` (always a UTC hour boundary)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=HOSPITAL_TZ).timestamp())


@dataclass
class Stay:
    """An open stay: where the patient is now and what happens next."""

    seq: int  # sequence number of its ADMISSION event; stay_id = event_id(seed, seq)
    patient: int
    hospital: int
    ward: str
    bed: int
    admitted: int
    priority: str
    diagnosis: str
    insurance: str
    age: int
    gender: str
    next_time: int
    target: str  # ward of the pending transfer, "" for a discharge
    transfers: int = 0
    waits: int = 0

    @property
    def key(self) -> Position:
        return (self.next_time, 0, self.seq, 0)

    def encode(self) -> str:
        """One compact line per stay keeps the state in a manifest small and readable."""
        return "|".join(
            str(value)
            for value in (
                self.seq,
                self.patient,
                self.hospital,
                self.ward,
                self.bed,
                self.admitted,
                self.priority,
                self.diagnosis,
                self.insurance,
                self.age,
                self.gender,
                self.next_time,
                self.target,
                self.transfers,
                self.waits,
            )
        )

    @classmethod
    def decode(cls, text: str) -> Stay:
        f = text.split("|")
        return cls(
            seq=int(f[0]),
            patient=int(f[1]),
            hospital=int(f[2]),
            ward=f[3],
            bed=int(f[4]),
            admitted=int(f[5]),
            priority=f[6],
            diagnosis=f[7],
            insurance=f[8],
            age=int(f[9]),
            gender=f[10],
            next_time=int(f[11]),
            target=f[12],
            transfers=int(f[13]),
            waits=int(f[14]),
        )


@dataclass
class EngineState:
    """Everything needed to continue the simulation exactly where it stopped."""

    seed: int
    epoch: date
    position: Position
    next_event_seq: int = 1
    next_patient: int = REGISTRY_START
    stays: list[Stay] = field(default_factory=list)

    @classmethod
    def fresh(cls, seed: int, epoch: date) -> EngineState:
        """Empty hospitals at local midnight of ``epoch``: the warm-up fills them."""
        return cls(seed=seed, epoch=epoch, position=(local_midnight(epoch), -1, 0, 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "epoch": self.epoch.isoformat(),
            "position": list(self.position),
            "next_event_seq": self.next_event_seq,
            "next_patient": self.next_patient,
            "stays": [stay.encode() for stay in sorted(self.stays, key=lambda s: s.seq)],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported ADT simulator state version {data.get('version')!r}")
        a, b, c, d = (int(x) for x in data["position"])
        return cls(
            seed=int(data["seed"]),
            epoch=date.fromisoformat(data["epoch"]),
            position=(a, b, c, d),
            next_event_seq=int(data["next_event_seq"]),
            next_patient=int(data["next_patient"]),
            stays=[Stay.decode(text) for text in data["stays"]],
        )


@dataclass(frozen=True)
class CleanEvent:
    """One true ADT event, before the producer adds its defects."""

    seq: int
    time: int
    event_type: str
    hospital: int  # the true hospital: decides the partition even if the wire copy is garbled
    patient_id: str
    event: dict[str, Any]


def _diversion_order() -> dict[int, tuple[int, ...]]:
    """Where each hospital's ambulances go when it is full: the nearest ones in the same state."""
    states = {h.number: h.state for h in HOSPITALS}
    return {
        h: tuple(
            sorted((o for o in states if o != h and states[o] == states[h]), key=lambda o: (abs(o - h), o))
        )
        for h in states
    }


DIVERSION_ORDER = _diversion_order()


class Engine:
    """The network's census and its event loop."""

    def __init__(self, state: EngineState, wards: dict[tuple[int, str], Ward]) -> None:
        self.seed = state.seed
        self.epoch = state.epoch
        self.wards = wards
        self.position: Position = state.position
        self.next_event_seq = state.next_event_seq
        self.next_patient = state.next_patient
        self.stays: dict[int, Stay] = {stay.seq: stay for stay in state.stays}
        self.stats: Counter[str] = Counter()
        totals = hospital_beds(wards)
        network = sum(totals.values())
        self._shares = {h: beds / network for h, beds in totals.items()}
        occupied: dict[tuple[int, str], set[int]] = {key: set() for key in wards}
        self._open_patients: set[int] = set()
        self._heap: list[tuple[Position, Any]] = []
        for stay in self.stays.values():
            beds = occupied[(stay.hospital, stay.ward)]
            if stay.bed in beds or not 1 <= stay.bed <= wards[(stay.hospital, stay.ward)].beds:
                raise ValueError(f"corrupt ADT state: bed {stay.bed} of {stay.hospital}/{stay.ward}")
            beds.add(stay.bed)
            self._open_patients.add(stay.patient)
            self._heap.append((stay.key, stay.seq))
        heapq.heapify(self._heap)
        self._free = {
            key: [bed for bed in range(1, ward.beds + 1) if bed not in occupied[key]]
            for key, ward in wards.items()
        }  # ascending lists are valid heaps: the lowest free bed is taken first
        self._hour = self.position[0] - self.position[0] % HOUR
        self._loaded = False

    # -- state ---------------------------------------------------------------------------------

    def snapshot(self) -> EngineState:
        """The state after the last processed item (arrivals still due are regenerated on resume)."""
        return EngineState(
            seed=self.seed,
            epoch=self.epoch,
            position=self.position,
            next_event_seq=self.next_event_seq,
            next_patient=self.next_patient,
            stays=[_copy(stay) for stay in self.stays.values()],
        )

    def occupied_beds(self) -> int:
        return len(self.stays)

    def occupancy(self) -> dict[tuple[int, str], int]:
        """Occupied beds per ward, right now."""
        counts = dict.fromkeys(self.wards, 0)
        for stay in self.stays.values():
            counts[(stay.hospital, stay.ward)] += 1
        return counts

    # -- the loop ------------------------------------------------------------------------------

    def events(self, until: int | None = None) -> Iterator[CleanEvent]:
        """Clean events in time order until ``until`` (an hour boundary, exclusive), or forever."""
        while until is None or self._hour < until:
            if not self._loaded:
                for arrival in arrivals_in_hour(self.seed, self._hour, self._shares):
                    if arrival.key > self.position:
                        heapq.heappush(self._heap, (arrival.key, arrival))
                self._loaded = True
            end = self._hour + HOUR
            while self._heap and self._heap[0][0][0] < end:
                key, item = heapq.heappop(self._heap)
                self.position = key
                event = self._arrive(item) if isinstance(item, Arrival) else self._step(self.stays[item])
                if event is not None:
                    yield event
            self._hour = end
            self._loaded = False
            self.position = (end, -1, 0, 0)

    # -- arrivals ------------------------------------------------------------------------------

    def _arrive(self, arrival: Arrival) -> CleanEvent | None:
        rng = Random(f"{self.seed}:adt:arrival:{arrival.hour}:{arrival.hospital}:{arrival.index}")
        day = local_day(arrival.time)
        number = self._returning_patient(rng) if rng.random() < RETURNING_SHARE else None
        returning = number is not None
        person = profile(self.seed, self.epoch, number if number is not None else self.next_patient)
        age = person.age_on(day)
        ward = arrival_ward(rng, age, person.gender, arrival.scheduled)
        hospital, bed = self._admit_to(arrival, ward)
        if bed is None:
            return None
        if not returning:
            self.next_patient += 1
        seq = self._take_seq()
        erng = Random(f"{self.seed}:adt:event:{seq}")
        step = plan_segment(erng, ward, arrival.time, 0, age, person.gender)
        stay = Stay(
            seq=seq,
            patient=person.number,
            hospital=hospital,
            ward=ward,
            bed=bed,
            admitted=arrival.time,
            priority=draw_priority(erng, ward, arrival.scheduled),
            diagnosis=draw_diagnosis(erng, ward, age, person.gender, is_surge(day)),
            insurance=stay_insurance(erng, person, age, returning),
            age=age,
            gender=person.gender,
            next_time=step.time,
            target=step.target or "",
        )
        self.stays[seq] = stay
        self._open_patients.add(stay.patient)
        heapq.heappush(self._heap, (stay.key, seq))
        self.stats["admissions"] += 1
        return self._event(stay, seq, ADMISSION, arrival.time, erng)

    def _returning_patient(self, rng: Random) -> int | None:
        """Someone registered before (recently, or any time); ``None`` if they are in a bed now."""
        newest = self.next_patient - 1
        oldest = max(1, newest - RECENT_WINDOW + 1) if rng.random() < RECENT_RETURN_SHARE else 1
        number = rng.randint(oldest, newest)
        return None if number in self._open_patients else number

    def _admit_to(self, arrival: Arrival, ward: str) -> tuple[int, int | None]:
        """A bed for the arrival: at its hospital, else (unscheduled only) at the nearest with one."""
        bed = self._take_bed(arrival.hospital, ward)
        if bed is not None:
            return arrival.hospital, bed
        if arrival.scheduled:
            self.stats["electives_cancelled"] += 1
            return arrival.hospital, None
        for other in DIVERSION_ORDER[arrival.hospital]:
            bed = self._take_bed(other, ward)
            if bed is not None:
                self.stats["diverted"] += 1
                return other, bed
        self.stats["turned_away"] += 1
        return arrival.hospital, None

    # -- ward events ---------------------------------------------------------------------------

    def _step(self, stay: Stay) -> CleanEvent | None:
        now = stay.next_time
        if not stay.target:
            return self._discharge(stay, now)
        bed = self._take_bed(stay.hospital, stay.target)
        if bed is None:
            self._board(stay, now)
            return None
        self._release_bed(stay.hospital, stay.ward, stay.bed)
        origin = stay.ward
        stay.ward, stay.bed, stay.target = stay.target, bed, ""
        stay.transfers += 1
        stay.waits = 0
        seq = self._take_seq()
        erng = Random(f"{self.seed}:adt:event:{seq}")
        stay.diagnosis = draw_diagnosis(erng, stay.ward, stay.age, stay.gender, is_surge(local_day(now)))
        step = plan_segment(erng, stay.ward, now, stay.transfers, stay.age, stay.gender)
        stay.next_time, stay.target = step.time, step.target or ""
        heapq.heappush(self._heap, (stay.key, stay.seq))
        self.stats["transfers"] += 1
        return self._event(stay, seq, TRANSFER, now, erng, origin=origin)

    def _board(self, stay: Stay, now: int) -> None:
        """The target ward is full: wait and retry, or give up and stay on the current ward."""
        rng = Random(f"{self.seed}:adt:wait:{stay.seq}:{stay.transfers}:{stay.waits}")
        if stay.waits < MAX_BOARDING_WAITS:
            stay.waits += 1
            stay.next_time = now + transfer_wait_seconds(rng)
            self.stats["boarding_waits"] += 1
        else:
            step = plan_segment(rng, stay.ward, now, MAX_TRANSFERS, stay.age, stay.gender)
            stay.next_time, stay.target, stay.waits = step.time, "", 0
            self.stats["transfers_abandoned"] += 1
        heapq.heappush(self._heap, (stay.key, stay.seq))

    def _discharge(self, stay: Stay, now: int) -> CleanEvent:
        self._release_bed(stay.hospital, stay.ward, stay.bed)
        del self.stays[stay.seq]
        self._open_patients.discard(stay.patient)
        seq = self._take_seq()
        self.stats["discharges"] += 1
        return self._event(stay, seq, DISCHARGE, now, Random(f"{self.seed}:adt:event:{seq}"))

    # -- helpers -------------------------------------------------------------------------------

    def _take_seq(self) -> int:
        seq = self.next_event_seq
        self.next_event_seq += 1
        return seq

    def _take_bed(self, hospital: int, ward: str) -> int | None:
        free = self._free[(hospital, ward)]
        return heapq.heappop(free) if free else None

    def _release_bed(self, hospital: int, ward: str, bed: int) -> None:
        heapq.heappush(self._free[(hospital, ward)], bed)

    def _event(
        self, stay: Stay, seq: int, event_type: str, now: int, rng: Random, origin: str | None = None
    ) -> CleanEvent:
        pid = f"P{stay.patient:07d}"
        event: dict[str, Any] = {
            "event_id": event_id(self.seed, seq),
            "event_type": event_type,
            "event_time": iso_utc(now),
            "stay_id": event_id(self.seed, stay.seq),
            "patient_id": pid,
            "age": stay.age,
            "gender": stay.gender,
            "hospital_id": stay.hospital,
            "department": DEPARTMENT_NAMES[stay.ward],
            "from_department": DEPARTMENT_NAMES[origin] if origin else None,
            "bed_id": self.wards[(stay.hospital, stay.ward)].bed_id(stay.bed),
            "admission_time": iso_utc(stay.admitted),
            "discharge_time": iso_utc(now) if event_type == DISCHARGE else None,
            "admission_priority": stay.priority,
            "diagnosis_code": stay.diagnosis,
            "insurance_type": stay.insurance,
            **draw_vitals(rng, stay.ward, stay.age, discharge=event_type == DISCHARGE),
        }
        return CleanEvent(seq, now, event_type, stay.hospital, pid, event)


def _copy(stay: Stay) -> Stay:
    return Stay.decode(stay.encode())
