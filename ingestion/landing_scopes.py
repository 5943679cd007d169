"""The landing zone as every loader sees it: one audit of all batches before any load.

Each loader verifies its own batches before it reads them (so ``carehouse load ...`` is safe on
its own); this module puts their scopes together so that the daily run can verify the whole
landing zone up front, record every outcome, and notice audited batches that have gone.
"""

from __future__ import annotations

from ingestion.adt.bronze import FILE_LOG_TABLE as ADT_FILE_LOG
from ingestion.adt.bronze import adt_scope
from ingestion.bronze_loads import committed_source_files
from ingestion.ehr.bronze import FILE_LOG_TABLE as EHR_FILE_LOG
from ingestion.ehr.bronze import ehr_scope, scan_ehr_landing
from ingestion.ehr.registry import load_ehr_registry
from ingestion.ehr.resources import ENTITIES
from ingestion.feeds.config import FILE_LOG_TABLE as FEEDS_FILE_LOG
from ingestion.feeds.config import LoadConfig, load_config
from ingestion.feeds.discovery import feeds_scope
from ingestion.landing import BatchVerification
from ingestion.landing_audit import LandingScope, mark_removed, verify_scope
from warehouse.settings import Settings

FILE_LOGS = (EHR_FILE_LOG, ADT_FILE_LOG, FEEDS_FILE_LOG)


def landing_scopes(settings: Settings, config: LoadConfig | None = None) -> list[LandingScope]:
    config = config or load_config()
    registry = load_ehr_registry()
    ehr_entities = (*ENTITIES, *scan_ehr_landing(settings, registry).other_entities)
    return [
        *(ehr_scope(settings, entity, registry) for entity in ehr_entities),
        adt_scope(settings),
        feeds_scope(config, config.active_feeds, settings),
    ]


def audit_landing_zone(settings: Settings, config: LoadConfig | None = None) -> list[BatchVerification]:
    """Verify every batch that bronze does not fully hold yet (or that had a problem), record the
    outcomes, and mark audited batches that left the landing zone as removed."""
    loaded = set().union(*(committed_source_files(settings, log) for log in FILE_LOGS))
    scopes = landing_scopes(settings, config)
    outcomes = [outcome for scope in scopes for outcome in verify_scope(settings, scope, loaded)]
    mark_removed(settings, [folder for scope in scopes for folder in scope.folders])
    return outcomes
