"""Run the daily pipeline through Dagster, in this process, on the carehouse instance.

Running in-process (rather than submitting to a daemon) keeps ``carehouse run`` a single
foreground command, while the run, its logs and its check results are stored in the same
Dagster instance that ``carehouse ui`` shows. The whole run holds the warehouse's writer lock
(its steps take it again without waiting), so a second ``carehouse run`` waits for this one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from dagster import AssetCheckSeverity, ExecuteInProcessResult

from orchestration.housekeeping import fail_abandoned_runs, prune_dagster_runs, run_tags
from orchestration.instance import carehouse_instance
from orchestration.jobs import DAILY_JOB_NAME, extract_run_config
from warehouse.lock import writer_lock
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings, get_settings


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    success: bool
    failed_steps: list[str]
    failed_checks: list[str]  # error severity: these block downstream assets
    warned_checks: list[str]  # warn severity: reported, not blocking


def run_daily_pipeline(
    extract_date: date,
    *,
    seed: int = 42,
    patients: int = 5000,
    settings: Settings | None = None,
    log_level: str = "INFO",
    on_wait: Callable[[str], None] | None = None,
) -> PipelineRun:
    settings = settings or get_settings()
    with writer_lock(settings, f"carehouse run {extract_date}", on_wait=on_wait):
        ensure_schemas_and_roles(settings)
        instance = carehouse_instance(settings)
        fail_abandoned_runs(instance)
        prune_dagster_runs(instance, settings, keep=settings.keep_runs - 1)  # room for this run
        from orchestration.definitions import defs  # import late: parses the dbt project if needed

        job = defs.resolve_job_def(DAILY_JOB_NAME)
        run_config = extract_run_config(extract_date.isoformat(), seed=seed, patients=patients)
        run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
        result: ExecuteInProcessResult = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            tags={"carehouse/extract_date": str(extract_date), **run_tags()},
        )
    failed_steps = [
        f"{e.step_key}: {e.step_failure_data.error.message.strip() if e.step_failure_data.error else ''}"
        for e in result.all_events
        if e.is_step_failure
    ]
    failed_checks: list[str] = []
    warned_checks: list[str] = []
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.asset_check_evaluation_data
        if evaluation.passed:
            continue
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        is_warning = evaluation.severity == AssetCheckSeverity.WARN
        (warned_checks if is_warning else failed_checks).append(name)
    return PipelineRun(result.run_id, result.success, failed_steps, failed_checks, warned_checks)
