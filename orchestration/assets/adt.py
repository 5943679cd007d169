"""The ADT event stream as assets: the simulated day's micro-batches, then dlt into bronze.

The daily job simulates and loads a whole day; between runs, ``adt_stream_sensor`` notices
new complete micro-batches (e.g. from ``carehouse simulate adt --follow``) and launches the
``adt_flow`` job, which loads them and rebuilds only the patient-flow models downstream.
"""

from pathlib import PurePosixPath

import psycopg
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
from psycopg import sql

from ingestion.adt.bronze import ENTITY, EVENTS_TABLE, FILE_LOG_TABLE, SYSTEM, adt_bronze_source
from ingestion.adt.pipeline import adt_pipeline
from ingestion.bronze_loads import committed_source_files
from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.landing import complete_batches
from orchestration.assets.bronze import bronze_dlt_assets
from orchestration.assets.keys import ADT_LANDING_KEY, LANDING_BATCHES_KEY
from orchestration.assets.landing import DayConfig, simulator_step
from orchestration.assets.owners import DATA_ENGINEERING
from warehouse.settings import Settings, SettingsError, get_settings

ADT_BRONZE_KEY = AssetKey([BRONZE_SCHEMA, EVENTS_TABLE])
ADT_SENSOR_INTERVAL_S = 15  # new micro-batches are picked up within 30 seconds


@asset(key=ADT_LANDING_KEY, group_name="landing", kinds={"python"}, owners=[DATA_ENGINEERING])
def adt_events_landing(context: AssetExecutionContext, config: DayConfig) -> MaterializeResult:
    """A day of ADT micro-batches in the landing zone (simulated; the first day warms up 14 days)."""
    # imported here: the simulator loads the ICD-10-CM tables (seconds of CPU) on import, which
    # every process loading the definitions (the UI, the sensor, each run) would pay
    from ingestion.adt.simulator import simulate_adt_day

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


def latest_complete_batch(settings: Settings) -> str | None:
    batches = complete_batches(settings.landing_dir, settings.tenant, settings.environment, SYSTEM, ENTITY)
    return batches[-1].name if batches else None


def newest_loaded_batch(settings: Settings) -> str | None:
    """The newest micro-batch with a file in bronze (the ADT file log of completed loads), or None."""
    files = committed_source_files(
        settings,
        FILE_LOG_TABLE,
        sql.SQL("t.tenant = %s and t.environment = %s"),
        (settings.tenant, settings.environment),
    )
    # source_file is <tenant>/<env>/adt/events/<batch id>/<file>, relative to the landing root
    return max((PurePosixPath(file).parent.name for file in files), default=None)


@sensor(
    job=adt_flow,
    minimum_interval_seconds=ADT_SENSOR_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts adt_flow when complete ADT micro-batches arrive that no run has picked up yet.",
)
def adt_stream_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    """Batch ids sort chronologically, so the cursor is the newest batch already requested.

    Without a cursor (first start, or a reset sensor) it starts from what bronze already holds,
    so that turning the sensor on never launches a run over data the daily job has loaded."""
    settings = get_settings()
    newest = latest_complete_batch(settings)
    if newest is None:
        return SkipReason("no complete ADT micro-batches")
    cursor = context.cursor
    if not cursor:
        try:
            cursor = newest_loaded_batch(settings) or ""
        except (psycopg.Error, OSError, RuntimeError, SettingsError) as exc:
            # no cursor yet: a run now could only fail too; ask bronze again next tick
            reason = type(exc).__name__
            return SkipReason(f"bronze unreachable ({reason}): cannot tell which ADT batches are new")
    if cursor and newest <= cursor:
        # keep the cursor learnt from bronze, so bronze is asked only once
        return SensorResult(skip_reason="no new complete ADT micro-batches", cursor=cursor)
    return SensorResult(run_requests=[RunRequest(run_key=f"adt-{newest}")], cursor=newest)
