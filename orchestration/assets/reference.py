"""Reference code sets (ICD-10-CM) as a dlt asset in bronze."""

from ingestion.reference.icd10_cm import reference_pipeline, reference_source
from orchestration.assets.bronze import bronze_dlt_assets

reference_bronze_assets = bronze_dlt_assets(
    name="reference_bronze",
    description="The ICD-10-CM classification from the simple-icd-10-cm package (merged on new releases).",
    source=reference_source,
    pipeline=reference_pipeline,
)
