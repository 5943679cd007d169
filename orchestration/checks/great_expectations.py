"""Great Expectations (1.x, called directly) as blocking Dagster asset checks.

``dagster-ge`` targets GX 0.x, so each check builds an ephemeral GX context, validates a
suite against one warehouse table and turns the result into an ``AssetCheckResult``. Only
counts and expectation names go into the metadata: GX's sample of unexpected values could
hold PHI, so it is never reported.
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetKey, asset_check

from orchestration.checks.outcomes import record_gx_outcome
from warehouse.settings import get_settings

# GX 1.x phones home unless told not to; these machines (and many hospitals) have no internet.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@dataclass(frozen=True)
class TableSuite:
    """A GX expectation suite for one warehouse table."""

    schema: str
    table: str
    build_expectations: Callable[[], Sequence[object]]

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


def validate_table(suite_def: TableSuite, check: AssetCheckExecutionContext) -> AssetCheckResult:
    """Run the suite with GX against the warehouse; PHI-free summary as check metadata, and the
    outcome recorded for gold.mart_data_quality_metrics."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    gx_context = gx.get_context(mode="ephemeral")
    gx_context.variables.progress_bars = ProgressBarsConfig(globally=False)  # Dagster logs are the progress
    datasource = gx_context.data_sources.add_postgres(
        name="carehouse", connection_string=get_settings().sqlalchemy_url()
    )
    table_asset = datasource.add_table_asset(
        name=suite_def.name, table_name=suite_def.table, schema_name=suite_def.schema
    )
    batch = table_asset.add_batch_definition_whole_table("whole_table").get_batch()
    suite = gx.ExpectationSuite(name=f"{suite_def.name}_suite")
    for expectation in suite_def.build_expectations():
        suite.add_expectation(expectation)
    result = batch.validate(suite)

    failed = [r for r in result.results if not r.success]
    metadata: dict[str, object] = {
        "suite": suite.name,
        "expectations": len(result.results),
        "failed_expectations": len(failed),
    }
    for r in failed:
        config = r.expectation_config
        column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []) or [])
        unexpected = (r.result or {}).get("unexpected_count")
        metadata[f"failed: {config.type}({column})"] = f"unexpected rows: {unexpected}"
    unexpected_rows = sum(int((r.result or {}).get("unexpected_count") or 0) for r in failed)
    check_name = check.check_specs[0].name if check.check_specs else suite_def.name
    record_gx_outcome(
        check_name, suite_def.schema, suite_def.table, result.success, unexpected_rows, check.run.run_id
    )
    return AssetCheckResult(passed=result.success, severity=AssetCheckSeverity.ERROR, metadata=metadata)


def _bronze_encounter_expectations() -> list[object]:
    import great_expectations.expectations as gxe

    lineage = (
        "resource",
        "ehr_system",
        "batch_id",
        "source_file",
        "line_number",
        "ingested_at",
        "_dlt_load_id",
    )
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        *[gxe.ExpectColumnValuesToNotBeNull(column=column) for column in lineage],
        gxe.ExpectColumnValuesToBeInSet(column="ehr_system", value_set=["athena", "epic"]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_file", "line_number"]),
        gxe.ExpectColumnValuesToBeBetween(column="line_number", min_value=1),
    ]


BRONZE_ENCOUNTERS = TableSuite("bronze", "ehr__encounter", _bronze_encounter_expectations)


@asset_check(
    asset=AssetKey(["bronze", "ehr__encounter"]),
    name="gx_bronze_encounters_lineage",
    blocking=True,
    description="GX: every bronze encounter row has its raw resource and full lineage, once.",
)
def gx_bronze_encounters(context: AssetCheckExecutionContext) -> AssetCheckResult:
    return validate_table(BRONZE_ENCOUNTERS, context)


def _silver_completed_encounter_expectations() -> list[object]:
    import great_expectations.expectations as gxe

    return [
        *[
            gxe.ExpectColumnValuesToNotBeNull(column=column)
            for column in ("source_system", "encounter_id", "patient_id", "period_start_at", "versions_seen")
        ],
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_system", "encounter_id"]),
        gxe.ExpectColumnValuesToBeInSet(column="encounter_status", value_set=["finished"]),
        gxe.ExpectColumnValuesToBeInSet(column="source_system", value_set=["athena", "epic"]),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="period_end_at",
            column_B="period_start_at",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        gxe.ExpectColumnValuesToBeBetween(column="versions_seen", min_value=1),
    ]


SILVER_COMPLETED_ENCOUNTERS = TableSuite(
    "silver", "int_encounters_completed", _silver_completed_encounter_expectations
)


@asset_check(
    asset=AssetKey(["silver", "int_encounters_completed"]),
    name="gx_silver_completed_encounters",
    blocking=True,
    description="GX: silver keeps one finished version per (system, encounter), with a sane period.",
)
def gx_silver_completed_encounters(context: AssetCheckExecutionContext) -> AssetCheckResult:
    return validate_table(SILVER_COMPLETED_ENCOUNTERS, context)


def _bronze_transaction_expectations() -> list[object]:
    import great_expectations.expectations as gxe

    lineage = ("source_system", "source_file", "file_date", "row_number", "batch_id", "ingested_at")
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        *[gxe.ExpectColumnValuesToNotBeNull(column=column) for column in lineage],
        gxe.ExpectColumnValuesToBeInSet(column="source_system", value_set=["athena", "epic"]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_file", "row_number"]),
        gxe.ExpectColumnValuesToBeBetween(column="row_number", min_value=1),
    ]


BRONZE_TRANSACTIONS = TableSuite("bronze", "billing__transactions", _bronze_transaction_expectations)


@asset_check(
    asset=AssetKey(["bronze", "billing__transactions"]),
    name="gx_bronze_transactions_lineage",
    blocking=True,
    description="GX: every bronze billing row names its system, file, file date and row, once.",
)
def gx_bronze_transactions(context: AssetCheckExecutionContext) -> AssetCheckResult:
    return validate_table(BRONZE_TRANSACTIONS, context)


def _silver_transaction_expectations() -> list[object]:
    import great_expectations.expectations as gxe

    required = ("transaction_key", "charge_key", "account_key", "payer_key", "service_date", "posting_date")
    return [
        *[gxe.ExpectColumnValuesToNotBeNull(column=column) for column in (*required, "amount", "ar_amount")],
        gxe.ExpectColumnValuesToBeUnique(column="transaction_key"),
        gxe.ExpectColumnValuesToBeInSet(
            column="transaction_type", value_set=["CHARGE", "PAYMENT", "ADJUSTMENT", "WRITE_OFF"]
        ),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="posting_date", column_B="service_date", or_equal=True
        ),
    ]


SILVER_TRANSACTIONS = TableSuite("silver", "cdm_transactions", _silver_transaction_expectations)


@asset_check(
    asset=AssetKey(["silver", "cdm_transactions"]),
    name="gx_silver_transactions",
    blocking=True,
    description="GX: usable transactions only: typed, positive amounts, posted on or after service.",
)
def gx_silver_transactions(context: AssetCheckExecutionContext) -> AssetCheckResult:
    return validate_table(SILVER_TRANSACTIONS, context)


def _silver_pharmacy_fill_expectations() -> list[object]:
    import great_expectations.expectations as gxe

    required = ("pharmacy_fill_key", "payer_key", "patient_key", "fill_date", "therapeutic_class")
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        *[gxe.ExpectColumnValuesToNotBeNull(column=column) for column in (*required, "paid_amount")],
        gxe.ExpectColumnValuesToBeUnique(column="pharmacy_fill_key"),
        gxe.ExpectColumnValuesToBeBetween(column="days_supply", min_value=1, max_value=365),
        gxe.ExpectColumnValuesToBeBetween(column="paid_amount", min_value=0),
    ]


SILVER_PHARMACY_FILLS = TableSuite("silver", "int_pharmacy_fills_current", _silver_pharmacy_fill_expectations)


@asset_check(
    asset=AssetKey(["silver", "int_pharmacy_fills_current"]),
    name="gx_silver_pharmacy_fills",
    blocking=True,
    description="GX: one usable paid fill per claim, with a patient, a payer and 1-365 days of supply.",
)
def gx_silver_pharmacy_fills(context: AssetCheckExecutionContext) -> AssetCheckResult:
    return validate_table(SILVER_PHARMACY_FILLS, context)
