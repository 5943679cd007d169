"""The EHR feed as assets: the simulated extract in the landing zone, then dlt into bronze."""

from dagster import AssetExecutionContext, MaterializeResult, asset
from pydantic import Field

from ingestion.ehr.bronze import ehr_bronze_source
from ingestion.ehr.pipeline import ehr_pipeline, report_ehr_leftovers
from ingestion.ehr.simulator import simulate_ehr_extract
from orchestration.assets.bronze import bronze_dlt_assets
from orchestration.assets.keys import EHR_EXTRACT_KEY, LANDING_BATCHES_KEY
from orchestration.assets.landing import DayConfig, simulator_step
from orchestration.assets.owners import DATA_ENGINEERING
from warehouse.settings import Settings


class EhrExtractConfig(DayConfig):
    """Which day's extract the simulated EHR sends (the first one is the full history)."""

    patients: int = Field(default=5000, description="patients across both EHR systems")


@asset(key=EHR_EXTRACT_KEY, group_name="landing", kinds={"python", "fhir"}, owners=[DATA_ENGINEERING])
def ehr_extract(context: AssetExecutionContext, config: EhrExtractConfig) -> MaterializeResult:
    """FHIR R4 NDJSON bulk files the two EHR systems drop in the landing zone (simulated)."""
    with simulator_step(context, "simulate ehr") as settings:
        result = simulate_ehr_extract(
            settings.landing_dir,
            extract_date=config.resolved_date(),
            seed=config.seed,
            patients=config.patients,
            tenant=settings.tenant,
            env=settings.environment,
        )
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


def _report_leftovers(context: AssetExecutionContext, settings: Settings) -> None:
    report_ehr_leftovers(settings, context.log)


ehr_bronze_assets = bronze_dlt_assets(
    name="ehr_bronze",
    description="New verified landing files, raw, into bronze (Arrow, COPY); rejected lines kept aside.",
    source=ehr_bronze_source,
    pipeline=ehr_pipeline,
    upstream=[EHR_EXTRACT_KEY, LANDING_BATCHES_KEY],
    after_load=_report_leftovers,
)
