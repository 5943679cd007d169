"""The daily pipeline job and its 06:00 UTC schedule."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RetryPolicy,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from orchestration.assets.adt import ADT_LANDING_KEY
from orchestration.assets.ehr import EHR_EXTRACT_KEY
from orchestration.assets.revenue_cycle import REVENUE_LANDING_KEY
from orchestration.assets.sample_rate import SAMPLE_RATE_OP_NAME
from orchestration.dbt_selection import FULL_CHECK_TAG
from warehouse.sample_rate import check_sample_rate

DAILY_JOB_NAME = "daily_pipeline"
FULL_CHECK_WEEKDAY = 6  # Sunday (date.weekday())
EXTRACT_OP_NAME = EHR_EXTRACT_KEY.to_python_identifier()
ADT_OP_NAME = ADT_LANDING_KEY.to_python_identifier()
REVENUE_OP_NAME = REVENUE_LANDING_KEY.to_python_identifier()

daily_pipeline = define_asset_job(
    name=DAILY_JOB_NAME,
    selection=AssetSelection.all(),
    description=(
        "Simulated EHR extract, ADT stream, billing extracts and payer claim files → dlt bronze"
        " → dbt silver/snapshots/gold → quality checks."
    ),
    op_retry_policy=RetryPolicy(max_retries=1, delay=120),
    tags={"carehouse/pipeline": "daily"},
)


def extract_run_config(
    extract_date: str, seed: int = 42, patients: int = 5000, sample_rate_pct: int | None = None
) -> dict:
    """Run config for one day's pipeline: the EHR extract, the ADT stream and the revenue-cycle
    files of that day; with ``sample_rate_pct``, the run also makes that the chart-review sample
    rate in force (recorded before dbt builds; None keeps the stored rate).

    Raises :class:`warehouse.sample_rate.InvalidSampleRateError` (a one-line ``ValueError``) for
    a rate that is not a whole percentage from 0 to 100, before anything runs.
    """
    ehr = {"extract_date": extract_date, "seed": seed, "patients": patients}
    day = {"extract_date": extract_date, "seed": seed}
    ops: dict[str, dict] = {
        EXTRACT_OP_NAME: {"config": ehr},
        ADT_OP_NAME: {"config": day},
        REVENUE_OP_NAME: {"config": day},
    }
    if sample_rate_pct is not None:
        ops[SAMPLE_RATE_OP_NAME] = {"config": {"sample_rate_pct": check_sample_rate(sample_rate_pct)}}
    return {"ops": ops}


@schedule(
    job=daily_pipeline,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,  # on as soon as the daemon runs, as documented
)
def daily_pipeline_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Every day at 06:00 UTC, load that day's extract. Daily builds test only the rows of new
    loads; Sunday's run is the weekly full check: every dbt step builds and tests every row."""
    scheduled = context.scheduled_execution_time
    day = scheduled.date().isoformat()
    tags = {FULL_CHECK_TAG: "true"} if scheduled.weekday() == FULL_CHECK_WEEKDAY else {}
    return RunRequest(run_key=day, run_config=extract_run_config(day), tags=tags)
