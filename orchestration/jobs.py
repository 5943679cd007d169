"""The daily pipeline job and its 06:00 UTC schedule."""

from dagster import (
    AssetSelection,
    RetryPolicy,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from orchestration.assets.ehr import EHR_EXTRACT_KEY

DAILY_JOB_NAME = "daily_pipeline"
EXTRACT_OP_NAME = EHR_EXTRACT_KEY.to_python_identifier()

daily_pipeline = define_asset_job(
    name=DAILY_JOB_NAME,
    selection=AssetSelection.all(),
    description="Simulated EHR extract → dlt bronze → dbt silver/snapshots/gold → quality checks.",
    op_retry_policy=RetryPolicy(max_retries=1, delay=120),
    tags={"carehouse/pipeline": "daily"},
)


def extract_run_config(extract_date: str, seed: int = 42, patients: int = 5000) -> dict:
    """Run config for one day's pipeline (the only configurable asset is the extract)."""
    config = {"extract_date": extract_date, "seed": seed, "patients": patients}
    return {"ops": {EXTRACT_OP_NAME: {"config": config}}}


@schedule(job=daily_pipeline, cron_schedule="0 6 * * *", execution_timezone="UTC")
def daily_pipeline_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Every day at 06:00 UTC, load that day's extract."""
    day = context.scheduled_execution_time.date().isoformat()
    return RunRequest(run_key=day, run_config=extract_run_config(day))
