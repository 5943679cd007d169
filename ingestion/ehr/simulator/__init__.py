"""Deterministic simulator of two EHR vendors' FHIR R4 bulk (NDJSON) extracts.

``simulate_ehr_extract`` writes one day's extract of every system into the landing zone: the
initial full history the first time, then daily increments with new, updated and re-sent
resources and a small share of malformed lines, as real feeds have.
"""

from ingestion.ehr.simulator.extract import ENTITIES, SimulationResult, simulate_ehr_extract, split_patients
from ingestion.ehr.simulator.facilities import EHR_SYSTEMS

__all__ = ["EHR_SYSTEMS", "ENTITIES", "SimulationResult", "simulate_ehr_extract", "split_patients"]
