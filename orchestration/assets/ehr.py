"""The EHR feed as assets: the simulated extract in the landing zone, then dlt into bronze."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Config, Failure, MaterializeResult, asset
from dagster_dlt import DagsterDltResource, dlt_assets
from pydantic import Field

from ingestion.ehr.bronze import ehr_bronze_source
from ingestion.ehr.pipeline import LOADER_FILE_FORMAT, ehr_pipeline
from ingestion.ehr.simulator import simulate_ehr_extract
from orchestration.assets.dlt_translator import BronzeDltTranslator
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import get_settings

EHR_EXTRACT_KEY = AssetKey(["landing", "ehr_extract"])


class EhrExtractConfig(Config):
    """Which day's extract the simulated EHR sends (the first one is the full history)."""

    extract_date: str = Field(default="", description="YYYY-MM-DD; empty means today (UTC)")
    seed: int = Field(default=42, description="same seed and date give byte-identical files")
    patients: int = Field(default=5000, description="patients across both EHR systems")

    def resolved_date(self) -> date:
        return date.fromisoformat(self.extract_date) if self.extract_date else datetime.now(UTC).date()


@asset(key=EHR_EXTRACT_KEY, group_name="landing", kinds={"python", "fhir"})
def ehr_extract(context: AssetExecutionContext, config: EhrExtractConfig) -> MaterializeResult:
    """FHIR R4 NDJSON bulk files the two EHR systems drop in the landing zone (simulated)."""
    settings = get_settings()
    try:
        result = simulate_ehr_extract(
            settings.landing_dir,
            extract_date=config.resolved_date(),
            seed=config.seed,
            patients=config.patients,
            tenant=settings.tenant,
            env=settings.environment,
        )
    except ValueError as exc:  # e.g. a date before the last extract: retrying cannot help
        raise Failure(description=str(exc), allow_retries=False) from exc
    context.log.info(
        f"EHR {result.kind} extract for {result.extract_date}: {len(result.files)} files, "
        f"{sum(result.lines_by_entity.values()):,} lines"
    )
    return MaterializeResult(
        metadata={
            "extract_date": str(result.extract_date),
            "kind": result.kind,
            "batch_id": result.batch_id,
            "files": len(result.files),
            "malformed_lines": result.malformed_lines,
            **{f"lines_{entity}": count for entity, count in sorted(result.lines_by_entity.items())},
        }
    )


@dlt_assets(
    dlt_source=ehr_bronze_source(),
    dlt_pipeline=ehr_pipeline(with_credentials=False),
    name="ehr_bronze",
    dagster_dlt_translator=BronzeDltTranslator(upstream=[EHR_EXTRACT_KEY]),
)
def ehr_bronze_assets(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
    """New landing files, raw, into bronze (Arrow batches, COPY); rejected lines kept aside."""
    settings = get_settings()
    ensure_schemas_and_roles(settings)
    yield from dlt.run(
        context=context,
        dlt_source=ehr_bronze_source(lambda: settings),
        dlt_pipeline=ehr_pipeline(settings),
        loader_file_format=LOADER_FILE_FORMAT,
    )
