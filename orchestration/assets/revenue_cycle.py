"""The revenue cycle as assets: billing extracts and payer claim files in the landing zone, then
the metadata-driven loader (ingestion/load_config.yaml) appends every configured feed to bronze.

The loader's assets come from the config: one asset per bronze table it names, so a new payer
feed is a config line (same table, no new asset) and a new table is a config line plus a
reload of the code location.
"""

from dagster import AssetExecutionContext, MaterializeResult, asset

from ingestion.billing.simulator import simulate_revenue_cycle_day
from ingestion.feeds.bronze import feeds_bronze_source
from ingestion.feeds.config import load_config
from ingestion.feeds.pipeline import feeds_pipeline, report_unclaimed_folders
from orchestration.assets.bronze import bronze_dlt_assets
from orchestration.assets.keys import EHR_EXTRACT_KEY, LANDING_BATCHES_KEY, REVENUE_LANDING_KEY
from orchestration.assets.landing import DayConfig, simulator_step
from orchestration.assets.owners import DATA_ENGINEERING
from warehouse.settings import Settings


@asset(
    key=REVENUE_LANDING_KEY,
    group_name="landing",
    kinds={"python", "csv"},
    deps=[EHR_EXTRACT_KEY],
    owners=[DATA_ENGINEERING],
)
def revenue_cycle_files(context: AssetExecutionContext, config: DayConfig) -> MaterializeResult:
    """Hospital billing extracts (both systems) and payer claim files (simulated from the EHR's
    encounters: the billing systems charge what the EHR documented)."""
    with simulator_step(context, "simulate revenue cycle") as settings:
        result = simulate_revenue_cycle_day(
            settings.landing_dir,
            day=config.resolved_date(),
            seed=config.seed,
            tenant=settings.tenant,
            env=settings.environment,
        )
    rows = sum(result.rows_by_entity.values())
    context.log.info(
        f"revenue cycle {result.day}: {len(result.files)} files, {rows:,} rows, "
        f"{result.claim_files} claim files ({result.resubmitted_claim_files} resubmitted)"
    )
    return MaterializeResult(
        metadata={
            "day": str(result.day),
            "files": len(result.files),
            "claim_files": result.claim_files,
            "resubmitted_claim_files": result.resubmitted_claim_files,
            **{f"rows_{entity}": count for entity, count in sorted(result.rows_by_entity.items())},
            **{f"dirty_{reason}": count for reason, count in sorted(result.dirty_by_reason.items())},
        }
    )


def _report_unclaimed(context: AssetExecutionContext, settings: Settings) -> None:
    report_unclaimed_folders(load_config(), settings, context.log)


feeds_bronze_assets = bronze_dlt_assets(
    name="feeds_bronze",
    description="New files of every active feed in the load config, verified, raw, into bronze.",
    source=feeds_bronze_source,
    pipeline=feeds_pipeline,
    upstream=[REVENUE_LANDING_KEY, LANDING_BATCHES_KEY],
    after_load=_report_unclaimed,
)
