"""The seven kinds of dirt a real ADT feed carries, injected into the emitted copy only.

Every event rolls once against the rates of the scenarios it is eligible for, so an event is
dirty in at most one way and the ground truth counts are exact. The simulation's own state is
never touched: a dirty event is a garbled *message* about a true event, which is what silver
has to see through. ``dirty.json`` in each batch lists every dirty record with the clean value
(``original``) and what was sent instead (``injected``).

Eligibility keeps the lifecycle recoverable:
- ``DISCHARGE_BEFORE_ADMISSION`` only exists on discharges (only they carry a discharge_time).
- ``MISSING_FIELD`` never hits a discharge: a stay's only discharge without its event_type
  would leave the stay open in silver for good. On admissions and transfers every dropped
  field can be recovered: patient_id from the record key or the stay, event_type from the
  event's shape (event_id = stay_id means ADMISSION; from_department means TRANSFER), and
  department from the bed id (``H3-SUR-15``).
- ``INVALID_HOSPITAL`` leaves the bed id alone, so the true hospital stays recoverable too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from ingestion.adt.simulator.departments import typos_of

INVALID_AGE = "INVALID_AGE"
FUTURE_ADMISSION = "FUTURE_ADMISSION"
MISSING_FIELD = "MISSING_FIELD"
DISCHARGE_BEFORE_ADMISSION = "DISCHARGE_BEFORE_ADMISSION"
DEPT_TYPO = "DEPT_TYPO"
INVALID_HOSPITAL = "INVALID_HOSPITAL"
DUPLICATE_EVENT = "DUPLICATE_EVENT"
SCENARIOS: tuple[str, ...] = (
    INVALID_AGE,
    FUTURE_ADMISSION,
    MISSING_FIELD,
    DISCHARGE_BEFORE_ADMISSION,
    DEPT_TYPO,
    INVALID_HOSPITAL,
    DUPLICATE_EVENT,
)
MISSING_FIELDS = ("patient_id", "event_type", "department")
INVALID_HOSPITAL_IDS = (0, 8, 9, 12, 99, -1)
DEFAULT_RATE = 0.01


@dataclass(frozen=True)
class DirtyRates:
    """Per-event probability of each scenario, among the events eligible for it (default 1% each)."""

    invalid_age: float = DEFAULT_RATE
    future_admission: float = DEFAULT_RATE
    missing_field: float = DEFAULT_RATE
    discharge_before_admission: float = DEFAULT_RATE
    dept_typo: float = DEFAULT_RATE
    invalid_hospital: float = DEFAULT_RATE
    duplicate_event: float = DEFAULT_RATE

    def __post_init__(self) -> None:
        rates = asdict(self)
        bad = {name: rate for name, rate in rates.items() if not 0.0 <= rate <= 1.0}
        if bad:
            raise ValueError(f"dirty rates must be within [0, 1]: {bad}")
        if sum(rates.values()) > 1.0:
            raise ValueError("dirty rates add up to more than 1: an event can be dirty in one way only")

    @classmethod
    def clean(cls) -> DirtyRates:
        return cls(*(0.0,) * len(SCENARIOS))

    @classmethod
    def uniform(cls, rate: float) -> DirtyRates:
        return cls(*(rate,) * len(SCENARIOS))

    def rate(self, scenario: str) -> float:
        return float(getattr(self, scenario.lower()))


def eligible(scenario: str, event_type: str) -> bool:
    if scenario == DISCHARGE_BEFORE_ADMISSION:
        return event_type == "DISCHARGE"
    if scenario == MISSING_FIELD:
        return event_type != "DISCHARGE"
    return True


def choose_scenario(rng: Random, rates: DirtyRates, event_type: str) -> str | None:
    """At most one scenario for this event (one draw, so rates are exact per eligible event)."""
    roll = rng.random()
    threshold = 0.0
    for scenario in SCENARIOS:
        if eligible(scenario, event_type):
            threshold += rates.rate(scenario)
            if roll < threshold:
                return scenario
    return None


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _format(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def inject(rng: Random, scenario: str, event: dict[str, Any]) -> dict[str, Any]:
    """Garble ``event`` in place the way ``scenario`` says; returns its ground-truth entry.

    ``DUPLICATE_EVENT`` is not handled here: a duplicate is a second record, not a changed one.
    """
    field: str
    original: Any
    injected: Any
    if scenario == INVALID_AGE:
        original = event["age"]
        injected = -rng.randint(1, 5) if rng.random() < 0.5 else rng.randint(121, 150)
        field = "age"
    elif scenario == FUTURE_ADMISSION:
        field, original = "admission_time", event["admission_time"]
        ahead = timedelta(days=rng.randint(1, 30), seconds=rng.randrange(86_400))
        injected = _format(_parse(event["event_time"]) + ahead)
    elif scenario == MISSING_FIELD:
        field = MISSING_FIELDS[rng.randrange(len(MISSING_FIELDS))]
        original, injected = event.pop(field), None
        return {"field": field, "original": original, "injected": injected}
    elif scenario == DISCHARGE_BEFORE_ADMISSION:
        field, original = "discharge_time", event["discharge_time"]
        before = timedelta(hours=rng.randint(1, 72), seconds=rng.randrange(3600))
        injected = _format(_parse(event["admission_time"]) - before)
    elif scenario == DEPT_TYPO:
        field, original = "department", event["department"]
        typos = typos_of(original)
        injected = typos[rng.randrange(len(typos))]
    elif scenario == INVALID_HOSPITAL:
        field, original = "hospital_id", event["hospital_id"]
        injected = INVALID_HOSPITAL_IDS[rng.randrange(len(INVALID_HOSPITAL_IDS))]
    else:
        raise ValueError(f"not an in-place dirty scenario: {scenario}")
    event[field] = injected
    return {"field": field, "original": original, "injected": injected}
