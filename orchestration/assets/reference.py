"""Reference code sets (ICD-10-CM) as a dlt asset in bronze."""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltResource, dlt_assets

from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, bronze_pipeline
from ingestion.reference.icd10_cm import REFERENCE_PIPELINE_NAME, reference_source
from orchestration.assets.dlt_translator import BronzeDltTranslator
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import get_settings


@dlt_assets(
    dlt_source=reference_source(),
    dlt_pipeline=bronze_pipeline(REFERENCE_PIPELINE_NAME, with_credentials=False),
    name="reference_bronze",
    dagster_dlt_translator=BronzeDltTranslator(),
)
def reference_bronze_assets(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
    """The ICD-10-CM classification from the simple-icd-10-cm package (merged on new releases)."""
    settings = get_settings()
    ensure_schemas_and_roles(settings)
    yield from dlt.run(
        context=context,
        dlt_source=reference_source(lambda: settings),
        dlt_pipeline=bronze_pipeline(REFERENCE_PIPELINE_NAME, settings),
        loader_file_format=LOADER_FILE_FORMAT,
    )
