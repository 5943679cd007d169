"""Asset keys that several asset modules name (kept apart so the modules never import each other)."""

from dagster import AssetKey

from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.landing_audit import AUDIT_TABLE

EHR_EXTRACT_KEY = AssetKey(["landing", "ehr_extract"])
ADT_LANDING_KEY = AssetKey(["landing", "adt_events"])
REVENUE_LANDING_KEY = AssetKey(["landing", "revenue_cycle_files"])
LANDING_KEYS = (EHR_EXTRACT_KEY, ADT_LANDING_KEY, REVENUE_LANDING_KEY)
# the landing batches verified against their manifests: every loader reads after it
LANDING_BATCHES_KEY = AssetKey([BRONZE_SCHEMA, AUDIT_TABLE])
