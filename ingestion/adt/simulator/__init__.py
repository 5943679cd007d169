"""Deterministic simulator of the network's ADT (admission/discharge/transfer) event stream.

Seven hospitals, seven departments each, beds from ``seeds/hospital_departments.csv``: a
discrete-event census that never double-books a bed, sends its events as Kafka-like records on
the topic ``adt.events`` (four partitions, offsets never reused) into the landing zone, and
garbles about 1% of them in each of seven documented ways, with the ground truth next to them.

- ``simulate_adt_day``: one local day as batches (the first call also writes a 14-day warm-up).
- ``follow``: live micro-batches in wall-clock time, continuing the same topic.
- ``dry_run``: the envelopes of a day, in memory.
- ``read_dirty_manifests``: the ground truth of every published batch.

The entry points are imported lazily: the billing simulator uses ``departments`` only, and the
simulation modules load the ICD-10-CM code set (about 200 MB).
"""

from typing import TYPE_CHECKING, Any

from ingestion.adt.simulator.departments import (
    CANONICAL_DEPARTMENTS,
    DEPARTMENT_NAMES,
    DEPARTMENT_TYPOS,
    load_wards,
    seed_path,
)

if TYPE_CHECKING:
    from ingestion.adt.simulator.daily import AdtSimulationResult, dry_run, simulate_adt_day
    from ingestion.adt.simulator.dirty import SCENARIOS, DirtyRates
    from ingestion.adt.simulator.live import AdtFollowResult, follow
    from ingestion.adt.simulator.producer import PARTITIONS, TOPIC, partition_of
    from ingestion.adt.simulator.store import read_dirty_manifests

__all__ = [
    "CANONICAL_DEPARTMENTS",
    "DEPARTMENT_NAMES",
    "DEPARTMENT_TYPOS",
    "PARTITIONS",
    "SCENARIOS",
    "TOPIC",
    "AdtFollowResult",
    "AdtSimulationResult",
    "DirtyRates",
    "dry_run",
    "follow",
    "load_wards",
    "partition_of",
    "read_dirty_manifests",
    "seed_path",
    "simulate_adt_day",
]

_LAZY = {
    "AdtSimulationResult": "daily",
    "dry_run": "daily",
    "simulate_adt_day": "daily",
    "SCENARIOS": "dirty",
    "DirtyRates": "dirty",
    "AdtFollowResult": "live",
    "follow": "live",
    "PARTITIONS": "producer",
    "TOPIC": "producer",
    "partition_of": "producer",
    "read_dirty_manifests": "store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
