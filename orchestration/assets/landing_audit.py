"""The landing batches, verified against their manifests before any loader reads them.

``bronze/landing__batches`` sits between the landing zone and every bronze loader: it verifies
each batch that bronze does not fully hold yet (every listed file present, with its line count
and SHA-256; nothing unlisted) and records the outcome. Its blocking check
(``orchestration.checks.landing``) fails while a batch is failed, carries stray files or lacks a
manifest past the grace period, so nothing downstream is built on a landing zone that lost or
gained files silently.
"""

from dagster import AssetExecutionContext, MaterializeResult, asset

from ingestion.landing import BatchStatus
from ingestion.landing_audit import AUDIT_COLUMNS, AUDIT_COMMENTS, open_problems
from ingestion.landing_scopes import audit_landing_zone
from orchestration.assets.keys import LANDING_BATCHES_KEY, LANDING_KEYS
from orchestration.assets.owners import DATA_ENGINEERING
from orchestration.assets.table_schema import COLUMN_SCHEMA_KEY, schema_from_ddl
from warehouse.lock import writer_lock
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import get_settings


@asset(
    key=LANDING_BATCHES_KEY,
    group_name="bronze",
    deps=list(LANDING_KEYS),
    kinds={"python", "postgres"},
    owners=[DATA_ENGINEERING],
    metadata={COLUMN_SCHEMA_KEY: schema_from_ddl(AUDIT_COLUMNS, AUDIT_COMMENTS)},
)
def landing_batches(context: AssetExecutionContext) -> MaterializeResult:
    """One row per landing batch: its verification against manifest.json (status, problems)."""
    settings = get_settings()
    with writer_lock(settings, "verify landing batches", on_wait=context.log.info):
        ensure_schemas_and_roles(settings)
        outcomes = audit_landing_zone(settings)
    problems = open_problems(settings)
    for problem in problems:  # paths, file names and counts only: no data values
        context.log.warning(f"landing batch {problem.batch_path} {problem.status}: {problem.problems}")
    counts = {status.value: 0 for status in BatchStatus if status is not BatchStatus.PENDING}
    for outcome in outcomes:
        if outcome.status is not BatchStatus.PENDING:
            counts[outcome.status.value] += 1
    return MaterializeResult(
        metadata={
            **{f"checked_{status}": count for status, count in counts.items()},
            "open_problems": len(problems),
        }
    )
