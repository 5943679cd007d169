"""Great Expectations (1.x, called directly) as blocking Dagster asset checks.

``dagster-ge`` targets GX 0.x, so each check builds an ephemeral GX context, validates a
suite against one warehouse table and turns the result into an ``AssetCheckResult``. Only
counts and expectation names go into the metadata: GX's sample of unexpected values could
hold PHI, so it is never reported.

A table whose rows did not change since it last passed the same suite is not read again: the
pass is carried forward (``carehouse/validated_again: false``) and GX is not even imported.
"""

import hashlib
import os
from collections.abc import Iterable
from importlib import metadata
from logging import Logger
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)

from orchestration.checks import gx_suites
from orchestration.checks.gx_suites import SUITES, TableSuite
from orchestration.checks.outcomes import passed_unchanged, record_gx_outcome, record_validation
from warehouse.connection import connect, row_version
from warehouse.settings import get_settings

# GX 1.x phones home unless told not to; these machines (and many hospitals) have no internet.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def suite_digest() -> str:
    """What a carried-forward pass assumes unchanged besides the rows: the suites' code, the EHR
    systems they accept and the GX release that judged them."""
    from ingestion.ehr.registry import load_ehr_registry

    parts = (
        Path(gx_suites.__file__).read_bytes(),
        ",".join(load_ehr_registry().names).encode(),
        metadata.version("great_expectations").encode(),
    )
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def validate_table(suite_def: TableSuite, run_id: str, log: Logger) -> AssetCheckResult:
    """The suite's verdict on the table: carried forward when the table and the suite are as they
    were at the last pass, else GX validates it. Either way the outcome is recorded for
    gold.mart_data_quality_metrics and the metadata is a PHI-free summary."""
    digest = suite_digest()
    with connect() as conn:
        version = row_version(conn, suite_def.schema, suite_def.table)
        passed_in = passed_unchanged(conn, suite_def.check_name, version, digest)
    if passed_in is not None:
        log.info(f"{suite_def.name}: unchanged since it passed in run {passed_in}; not read again")
        record_gx_outcome(suite_def.check_name, suite_def.schema, suite_def.table, True, 0, run_id)
        return AssetCheckResult(
            passed=True,
            severity=AssetCheckSeverity.ERROR,
            metadata={"carehouse/validated_again": False, "carehouse/validated_in_run": passed_in},
        )
    result = _run_gx(suite_def, run_id)
    with connect() as conn:
        record_validation(conn, suite_def.check_name, version, digest, result.passed, run_id)
    return result


def _run_gx(suite_def: TableSuite, run_id: str) -> AssetCheckResult:
    """Validate the whole table with GX."""
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
        "carehouse/validated_again": True,
    }
    for r in failed:
        config = r.expectation_config
        column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []) or [])
        unexpected = (r.result or {}).get("unexpected_count")
        metadata[f"failed: {config.type}({column})"] = f"unexpected rows: {unexpected}"
    unexpected_rows = sum(int((r.result or {}).get("unexpected_count") or 0) for r in failed)
    record_gx_outcome(
        suite_def.check_name,
        suite_def.schema,
        suite_def.table,
        result.success,
        unexpected_rows,
        run_id,
    )
    return AssetCheckResult(passed=result.success, severity=AssetCheckSeverity.ERROR, metadata=metadata)


def gx_asset_check(suite: TableSuite) -> AssetChecksDefinition:
    """The asset check that validates ``suite``'s table."""

    @asset_check(
        asset=suite.asset_key,
        name=suite.check_name,
        blocking=suite.blocking,
        description=suite.description,
    )
    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        return validate_table(suite, context.run.run_id, context.log)

    return _check


def gx_asset_checks(suites: Iterable[TableSuite] = SUITES) -> list[AssetChecksDefinition]:
    return [gx_asset_check(suite) for suite in suites]


# module level: definitions.py collects them with load_asset_checks_from_modules
gx_checks = gx_asset_checks()
