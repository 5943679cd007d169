"""What ``carehouse status`` reports: the last pipeline run, its checks, each source's freshness,
rows per layer and open landing problems. Reads the Dagster instance and the warehouse only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dagster import DagsterInstance, RunsFilter

from orchestration.jobs import DAILY_JOB_NAME
from orchestration.runner import PipelineRun, run_outcome
from orchestration.summary import WarehouseSummary, collect_summary
from warehouse.connection import connect
from warehouse.sample_rate import rate_in_force
from warehouse.settings import Settings


@dataclass(frozen=True)
class LastRun:
    outcome: PipelineRun
    status: str
    extract_date: str | None
    started_at: datetime | None
    duration_s: float | None


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    latest_batch: str | None
    last_loaded_at: datetime | None


@dataclass(frozen=True)
class WarehouseStatus:
    last_run: LastRun | None
    sources: list[SourceFreshness]
    summary: WarehouseSummary
    sample_rate_pct: int


def last_pipeline_run(instance: DagsterInstance) -> LastRun | None:
    """The newest run of ``daily_pipeline`` (from `carehouse run`, the schedule or the UI)."""
    records = instance.get_run_records(RunsFilter(job_name=DAILY_JOB_NAME), limit=1)
    if not records:
        return None
    record = records[0]
    run = record.dagster_run
    started = record.start_time
    ended = record.end_time
    return LastRun(
        outcome=run_outcome(instance, run.run_id),
        status=run.status.value,
        extract_date=run.tags.get("carehouse/extract_date"),
        started_at=datetime.fromtimestamp(started).astimezone() if started else None,
        duration_s=(ended - started) if started and ended else None,
    )


def source_freshness(settings: Settings) -> list[SourceFreshness]:
    """Per source, the newest batch and load time, as the data-quality mart last computed them
    (its ``source_freshness`` group); empty before the first gold build."""
    with connect(settings) as conn:
        present = conn.execute("select to_regclass('gold.mart_data_quality_metrics') is not null").fetchone()
        if not present[0]:
            return []
        rows = conn.execute(
            "select source, max(latest_batch), max(last_loaded_at) from gold.mart_data_quality_metrics"
            " where metric_group = 'source_freshness' group by source order by source"
        ).fetchall()
    return [SourceFreshness(*row) for row in rows]


def warehouse_status(settings: Settings, instance: DagsterInstance) -> WarehouseStatus:
    return WarehouseStatus(
        last_pipeline_run(instance),
        source_freshness(settings),
        collect_summary(settings),
        rate_in_force(settings),
    )
