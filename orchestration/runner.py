"""Run the daily pipeline as a Dagster run of the carehouse code location, in the foreground.

The run is created the way the Dagster UI creates one (from the code location's job, with its
code-location origin), then executed in this process. So ``carehouse run`` stays one foreground
command, while its run is a first-class run of ``daily_pipeline``: on the job page and the
timeline, and "Re-execute" works from ``carehouse ui``. The whole run holds the warehouse's
writer lock (its steps take it again without waiting), so a second ``carehouse run`` waits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import CodeLocation
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.utils import make_new_run_id
from dagster._utils.hosted_user_process import recon_job_from_origin

from orchestration.alerts import alert_on_run
from orchestration.dbt_selection import FULL_CHECK_TAG
from orchestration.event_log import event_log_kept_open
from orchestration.housekeeping import fail_abandoned_runs, prune_dagster_runs, run_tags
from orchestration.instance import carehouse_instance
from orchestration.jobs import DAILY_JOB_NAME, extract_run_config
from warehouse.lock import writer_lock
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings, get_settings

DEFINITIONS_MODULE = "orchestration.definitions"
# The code location's name everywhere: pyproject's [tool.dagster], `carehouse ui`, these runs.
CODE_LOCATION_NAME = "carehouse"
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # dbt_project/ and seeds/ resolve from here
SINGLE_REPOSITORY = "__repository__"  # the repository Dagster makes of a module's Definitions


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    success: bool
    failed_steps: list[str]
    failed_checks: list[str]  # error severity: these block downstream assets
    warned_checks: list[str]  # warn severity: reported, not blocking


@contextmanager
def code_location(instance: DagsterInstance) -> Iterator[CodeLocation]:
    """The carehouse code location, loaded in this process under its shared name."""
    target = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name=DEFINITIONS_MODULE,
        attribute="defs",
        working_directory=str(PROJECT_ROOT),
    )
    origin = InProcessCodeLocationOrigin(target, location_name=CODE_LOCATION_NAME)
    with origin.create_location(instance) as location:
        yield location


def run_daily_pipeline(
    extract_date: date,
    *,
    seed: int = 42,
    patients: int = 5000,
    settings: Settings | None = None,
    log_level: str = "INFO",
    sample_rate_pct: int | None = None,
    run_id: str | None = None,
    on_wait: Callable[[str], None] | None = None,
    full_check: bool = False,
) -> PipelineRun:
    """Run ``daily_pipeline`` for ``extract_date``; ``sample_rate_pct`` changes the chart-review
    rate in force (None keeps it); ``run_id`` lets a caller follow the run's events while it
    executes (see ``orchestration.progress``); ``full_check`` builds every dbt node and tests
    every row, as the weekly scheduled run does."""
    settings = settings or get_settings()
    run_id = run_id or make_new_run_id()
    with writer_lock(settings, f"carehouse run {extract_date}", on_wait=on_wait):
        ensure_schemas_and_roles(settings)
        instance = carehouse_instance(settings)
        for abandoned in fail_abandoned_runs(instance):  # the daemon's failure sensor never sees these
            alert_on_run(instance, abandoned)
        prune_dagster_runs(instance, settings, keep=settings.keep_runs - 1)  # room for this run
        run_config = {
            **extract_run_config(
                extract_date.isoformat(), seed=seed, patients=patients, sample_rate_pct=sample_rate_pct
            ),
            # in this process, one step after another: the steps share the writer lock
            "execution": {"config": {"in_process": {}}},
            "loggers": {"console": {"config": {"log_level": log_level}}},
        }
        tags = {"carehouse/extract_date": str(extract_date), **run_tags()}
        if full_check:
            tags[FULL_CHECK_TAG] = "true"
        with event_log_kept_open(instance):
            with code_location(instance) as location:
                dagster_run = _create_run(instance, location, run_id, run_config, tags)
            execute_run(recon_job_from_origin(dagster_run.job_code_origin), dagster_run, instance)
    alert_on_run(instance, run_id)  # a failed run or blocking check: the configured webhook / email
    return run_outcome(instance, run_id)


def _create_run(instance: DagsterInstance, location: CodeLocation, run_id: str, run_config, tags):
    """What ``dagster job launch`` does, short of handing the run to a launcher."""
    remote_repo = location.get_repository(SINGLE_REPOSITORY)
    remote_job = remote_repo.get_full_job(DAILY_JOB_NAME)
    plan = location.get_execution_plan(
        remote_job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
    )
    return instance.create_run(
        job_name=DAILY_JOB_NAME,
        run_id=run_id,
        run_config=run_config,
        resolved_op_selection=None,
        step_keys_to_execute=None,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**remote_job.tags, **tags},
        job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=remote_repo.asset_graph,
    )


def run_outcome(instance: DagsterInstance, run_id: str) -> PipelineRun:
    """A finished run's outcome, read back from the instance's event log."""
    run = instance.get_run_by_id(run_id)
    failed_steps: list[str] = []
    failed_checks: list[str] = []
    warned_checks: list[str] = []
    for record in instance.get_records_for_run(run_id, limit=None).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            failed_steps.append(f"{event.step_key}: {error.message.strip() if error else ''}")
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if evaluation.passed:
                continue
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            is_warning = evaluation.severity == AssetCheckSeverity.WARN
            (warned_checks if is_warning else failed_checks).append(name)
    success = run is not None and run.is_success
    return PipelineRun(run_id, success, failed_steps, failed_checks, warned_checks)


def check_descriptions() -> dict[str, str]:
    """``asset key:check name`` -> the check's description (first line), as the UI shows it."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    descriptions = {}
    for key in graph.asset_check_keys:
        description = (graph.get_check_spec(key).description or "").strip()
        descriptions[f"{key.asset_key.to_user_string()}:{key.name}"] = description.split("\n")[0]
    return descriptions
