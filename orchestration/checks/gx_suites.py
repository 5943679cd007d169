"""The Great Expectations suites carehouse runs as blocking Dagster asset checks, as data: one
entry per warehouse table, with the check's name, its description and its expectations
(``orchestration.checks.great_expectations`` turns each entry into an asset check).

The expectation builders import GX lazily: loading the Dagster definitions never pays for it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dagster import AssetKey


@dataclass(frozen=True)
class TableSuite:
    """A GX expectation suite for one warehouse table, and the asset check that runs it."""

    check_name: str
    schema: str
    table: str
    build_expectations: Callable[[], Sequence[object]]
    description: str
    blocking: bool = True

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def asset_key(self) -> AssetKey:
        """Warehouse tables are Dagster assets ``<schema>/<table>`` (both translators agree)."""
        return AssetKey([self.schema, self.table])


def _ehr_systems() -> list[str]:
    """The EHR systems of the registry in force when the check runs (never a hard-coded list)."""
    from ingestion.ehr.registry import load_ehr_registry

    return list(load_ehr_registry().names)


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
        gxe.ExpectColumnValuesToBeInSet(column="ehr_system", value_set=_ehr_systems()),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_file", "line_number"]),
        gxe.ExpectColumnValuesToBeBetween(column="line_number", min_value=1),
    ]


def _silver_completed_encounter_expectations() -> list[object]:
    import great_expectations.expectations as gxe

    return [
        *[
            gxe.ExpectColumnValuesToNotBeNull(column=column)
            for column in ("source_system", "encounter_id", "patient_id", "period_start_at", "versions_seen")
        ],
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_system", "encounter_id"]),
        gxe.ExpectColumnValuesToBeInSet(column="encounter_status", value_set=["finished"]),
        gxe.ExpectColumnValuesToBeInSet(column="source_system", value_set=_ehr_systems()),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="period_end_at",
            column_B="period_start_at",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        gxe.ExpectColumnValuesToBeBetween(column="versions_seen", min_value=1),
    ]


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


SUITES: tuple[TableSuite, ...] = (
    TableSuite(
        "gx_bronze_encounters_lineage",
        "bronze",
        "ehr__encounter",
        _bronze_encounter_expectations,
        "GX: every bronze encounter row has its raw resource and full lineage, once.",
    ),
    TableSuite(
        "gx_silver_completed_encounters",
        "silver",
        "int_encounters_completed",
        _silver_completed_encounter_expectations,
        "GX: silver keeps one finished version per (system, encounter), with a sane period.",
    ),
    TableSuite(
        "gx_bronze_transactions_lineage",
        "bronze",
        "billing__transactions",
        _bronze_transaction_expectations,
        "GX: every bronze billing row names its system, file, file date and row, once.",
    ),
    TableSuite(
        "gx_silver_transactions",
        "silver",
        "cdm_transactions",
        _silver_transaction_expectations,
        "GX: usable transactions only: typed, positive amounts, posted on or after service.",
    ),
    TableSuite(
        "gx_silver_pharmacy_fills",
        "silver",
        "int_pharmacy_fills_current",
        _silver_pharmacy_fill_expectations,
        "GX: one usable paid fill per claim, with a patient, a payer and 1-365 days of supply.",
    ),
)
