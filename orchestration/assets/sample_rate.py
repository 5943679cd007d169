"""The chart-review sample rate in force, as the asset the review marts read.

``bronze/carehouse__sample_rate_changes`` is the change log of ``warehouse.sample_rate``; dbt
declares it as a source, so the gold step's review marts depend on it and it runs before them
in every job. A run that sets ``sample_rate_pct`` in this asset's config records the change
here, before dbt builds; a run without it (the schedule) keeps the stored rate.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    asset,
)
from pydantic import Field

from orchestration.assets.owners import DATA_ENGINEERING
from orchestration.housekeeping import CLI_LAUNCHER, LAUNCHED_BY_TAG
from warehouse.sample_rate import SAMPLE_RATE_SCHEMA, SAMPLE_RATE_TABLE, rate_in_force, set_sample_rate
from warehouse.settings import get_settings

SAMPLE_RATE_KEY = AssetKey([SAMPLE_RATE_SCHEMA, SAMPLE_RATE_TABLE])
SAMPLE_RATE_OP_NAME = SAMPLE_RATE_KEY.to_python_identifier()
_REQUIRED = TableColumnConstraints(nullable=False)
# the table warehouse.sample_rate creates
COLUMN_SCHEMA = TableSchema(
    columns=[
        TableColumn("change_id", "bigint", "Identity, in the order of the changes.", _REQUIRED),
        TableColumn("changed_at", "timestamptz", "When the rate changed.", _REQUIRED),
        TableColumn("old_rate_pct", "integer", "The rate before, in percent (10 at first).", _REQUIRED),
        TableColumn("new_rate_pct", "integer", "The rate from then on, in percent.", _REQUIRED),
        TableColumn("changed_by", "text", "The command line or the Dagster run, by id.", _REQUIRED),
    ]
)


class SampleRateConfig(Config):
    sample_rate_pct: int | None = Field(
        default=None,
        description="New chart-review sample rate in percent (0-100); leave out to keep the stored rate.",
    )


def changed_by(context: AssetExecutionContext) -> str:
    """Who changes the rate, for the audit trail: the command line or a Dagster run, by id."""
    run = f"dagster run {context.run_id}"
    launched_by = context.run.tags.get(LAUNCHED_BY_TAG)
    return f"{CLI_LAUNCHER} ({run})" if launched_by == CLI_LAUNCHER else run


@asset(
    key=SAMPLE_RATE_KEY,
    group_name="bronze",
    kinds={"python", "postgres"},
    owners=[DATA_ENGINEERING],
    metadata={"dagster/column_schema": COLUMN_SCHEMA},
)
def sample_rate_changes(context: AssetExecutionContext, config: SampleRateConfig) -> MaterializeResult:
    """Every change of the chart-review sample rate; the latest is the rate in force (10 until set)."""
    settings = get_settings()
    changed = False
    if config.sample_rate_pct is not None:
        changed = set_sample_rate(settings, config.sample_rate_pct, changed_by(context))
    rate = rate_in_force(settings)
    if changed:
        context.log.info(f"chart-review sample rate is now {rate}%")
    return MaterializeResult(metadata={"sample_rate_pct": rate, "changed": changed})
