"""Deterministic simulator of two EHR vendors' FHIR R4 bulk (NDJSON) extracts.

``simulate_ehr_extract`` writes one day's extract of every system into the landing zone: the
initial full history the first time, then daily increments with new, updated and re-sent
resources (patients who move or change insurance or PCP, practitioners who change role) and a
small share of malformed lines, as real feeds have. ``ENTITIES`` and ``EHR_SYSTEMS`` are
re-exported from ``ingestion.ehr.resources``, the list the loaders share.

The entry points are imported lazily: the other simulators use this package's small modules
(clock, facilities, identifiers), and importing ``extract`` loads the ICD-10-CM code set (about
200 MB) that only the EHR simulation needs.
"""

from typing import TYPE_CHECKING, Any

from ingestion.ehr.resources import EHR_SYSTEMS, ENTITIES

if TYPE_CHECKING:
    from ingestion.ehr.simulator.extract import SimulationResult, simulate_ehr_extract, split_patients

__all__ = ["EHR_SYSTEMS", "ENTITIES", "SimulationResult", "simulate_ehr_extract", "split_patients"]


_LAZY = frozenset({"SimulationResult", "simulate_ehr_extract", "split_patients"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from ingestion.ehr.simulator import extract

        return getattr(extract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
