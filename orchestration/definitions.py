"""The carehouse Dagster code location: ``dagster dev -m orchestration.definitions``."""

from dagster import Definitions, load_asset_checks_from_modules
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from orchestration.alerts import blocking_check_alert_sensor, run_failure_alert_sensor
from orchestration.assets.adt import adt_bronze_assets, adt_events_landing, adt_flow, adt_stream_sensor
from orchestration.assets.dbt import dbt_gold_assets, dbt_silver_assets, dbt_snapshot_assets
from orchestration.assets.ehr import ehr_bronze_assets, ehr_extract
from orchestration.assets.landing_audit import landing_batches
from orchestration.assets.reference import reference_bronze_assets
from orchestration.assets.revenue_cycle import feeds_bronze_assets, revenue_cycle_files
from orchestration.assets.sample_rate import sample_rate_changes
from orchestration.checks import great_expectations, landing
from orchestration.dbt_project import carehouse_dbt, dbt_executable
from orchestration.housekeeping import housekeeping_sensor
from orchestration.jobs import daily_pipeline, daily_pipeline_schedule

defs = Definitions(
    assets=[
        ehr_extract,
        landing_batches,
        ehr_bronze_assets,
        adt_events_landing,
        adt_bronze_assets,
        reference_bronze_assets,
        revenue_cycle_files,
        feeds_bronze_assets,
        sample_rate_changes,
        dbt_silver_assets,
        dbt_snapshot_assets,
        dbt_gold_assets,
    ],
    asset_checks=load_asset_checks_from_modules([great_expectations, landing]),
    jobs=[daily_pipeline, adt_flow],
    schedules=[daily_pipeline_schedule],
    sensors=[adt_stream_sensor, housekeeping_sensor, run_failure_alert_sensor, blocking_check_alert_sensor],
    resources={
        # dbt beside the running Python: PATH lacks it when .venv/bin/carehouse runs unactivated
        "dbt": DbtCliResource(project_dir=carehouse_dbt, dbt_executable=dbt_executable()),
        "dlt": DagsterDltResource(),
    },
)
