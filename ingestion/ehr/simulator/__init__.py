"""Deterministic simulator of two EHR vendors' FHIR R4 bulk (NDJSON) extracts.

``simulate_ehr_extract`` writes one day's extract of every system into the landing zone: the
initial full history the first time, then daily increments with new, updated and re-sent
resources (patients who move or change insurance or PCP, practitioners who change role) and a
small share of malformed lines, as real feeds have. ``ENTITIES`` and ``EHR_SYSTEMS`` are
re-exported from ``ingestion.ehr.resources``, the list the loaders share.
"""

from ingestion.ehr.resources import EHR_SYSTEMS, ENTITIES
from ingestion.ehr.simulator.extract import SimulationResult, simulate_ehr_extract, split_patients

__all__ = ["EHR_SYSTEMS", "ENTITIES", "SimulationResult", "simulate_ehr_extract", "split_patients"]
