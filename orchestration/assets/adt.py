"""The ADT event stream as assets: the simulated day's micro-batches, then dlt into bronze.

The daily job simulates and loads a whole day; between runs, ``adt_stream_sensor`` notices
new complete micro-batches (e.g. from ``carehouse simulate adt --follow``) and launches the
``adt_flow`` job, which loads them and rebuilds only the patient-flow models downstream.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    MaterializeResult,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)

from ingestion.adt.bronze import ENTITY, EVENTS_TABLE, SYSTEM, adt_bronze_source
from ingestion.adt.pipeline import adt_pipeline
from ingestion.adt.simulator import simulate_adt_day
from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.landing import complete_batches
from orchestration.assets.bronze import bronze_dlt_assets
from orchestration.assets.keys import ADT_LANDING_KEY, LANDING_BATCHES_KEY
from orchestration.assets.landing import DayConfig, simulator_step
from orchestration.assets.owners import DATA_ENGINEERING
from warehouse.settings import get_settings

ADT_BRONZE_KEY = AssetKey([BRONZE_SCHEMA, EVENTS_TABLE])
ADT_SENSOR_INTERVAL_S = 15  # new micro-batches are picked up within 30 seconds


@asset(key=ADT_LANDING_KEY, group_name="landing", kinds={"python"}, owners=[DATA_ENGINEERING])
def adt_events_landing(context: AssetExecutionContext, config: DayConfig) -> MaterializeResult:
    """A day of ADT micro-batches in the landing zone (simulated; the first day warms up 14 days)."""
    with simulator_step(context, "simulate adt") as settings:
        result = simulate_adt_day(
            settings.landing_dir,
            day=config.resolved_date(),
            seed=config.seed,
            tenant=settings.tenant,
            env=settings.environment,
        )
    context.log.info(f"ADT {result.day}: {len(result.batch_ids)} micro-batches, {result.events:,} records")
    return MaterializeResult(
        metadata={
            "day": str(result.day),
            "micro_batches": len(result.batch_ids),
            "records": result.events,
            "admissions": result.admissions,
            "discharges": result.discharges,
            "transfers": result.transfers,
            **{f"dirty_{name.lower()}": count for name, count in sorted(result.dirty_by_scenario.items())},
        }
    )


adt_bronze_assets = bronze_dlt_assets(
    name="adt_bronze",
    description="New verified micro-batches, appended exactly once, with partition/offset/producer time.",
    source=adt_bronze_source,
    pipeline=adt_pipeline,
    upstream=[ADT_LANDING_KEY, LANDING_BATCHES_KEY],
)


adt_flow = define_asset_job(
    name="adt_flow",
    selection=AssetSelection.assets(ADT_BRONZE_KEY).downstream(),
    description="Load new ADT micro-batches and rebuild the patient-flow models downstream of them.",
    tags={"carehouse/pipeline": "adt"},
)


def latest_complete_batch() -> str | None:
    settings = get_settings()
    batches = complete_batches(settings.landing_dir, settings.tenant, settings.environment, SYSTEM, ENTITY)
    return batches[-1].name if batches else None


@sensor(
    job=adt_flow,
    minimum_interval_seconds=ADT_SENSOR_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts adt_flow when complete ADT micro-batches arrive that no run has picked up yet.",
)
def adt_stream_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    """Batch ids sort chronologically, so the cursor is the newest batch already requested."""
    newest = latest_complete_batch()
    if newest is None or (context.cursor and newest <= context.cursor):
        return SkipReason("no new complete ADT micro-batches")
    return SensorResult(run_requests=[RunRequest(run_key=f"adt-{newest}")], cursor=newest)
