"""dbt models, seeds and snapshots as Dagster assets; dbt tests become asset checks."""

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.assets.dbt_checks import describe_test
from orchestration.assets.owners import ANALYTICS_ENGINEERING
from orchestration.dbt_project import carehouse_dbt, dbt_process_env, ensure_manifest
from orchestration.dbt_selection import TESTS_AFTER_ENV, plan_for_context, record_when_done
from orchestration.housekeeping import DBT_TARGETS_KEPT, prune_dbt_targets
from warehouse.lock import writer_lock
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import get_settings


class CarehouseDbtTranslator(DagsterDbtTranslator):
    """Keys are ``<schema>/<relation>``: bronze sources line up with the dlt assets' keys, so
    lineage runs dlt → dbt with no placeholder assets, and each layer reads as a key prefix."""

    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True, enable_source_tests_as_checks=True
            )
        )

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") not in {"model", "seed", "snapshot", "source"}:
            return spec
        relation = props.get("identifier") or props.get("alias") or props["name"]
        layer = props.get("schema") or "dbt"
        group = "bronze" if props["resource_type"] == "source" else layer
        return spec.replace_attributes(
            key=AssetKey([layer, relation]), group_name=group, owners=[ANALYTICS_ENGINEERING]
        )

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=describe_test(manifest, unique_id),
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=spec.blocking,
            automation_condition=spec.automation_condition,
            partitions_def=spec.partitions_def,
        )


DBT_TRANSLATOR = CarehouseDbtTranslator()

# Silver and gold are separate Dagster steps so that the blocking Great Expectations check on
# silver runs between them: bad silver never reaches gold or the review mart.
SILVER_SELECTION = "resource_type:seed staging quarantine intermediate"
# Snapshots get their own step (and could get their own cadence): SCD2 history of silver.
SNAPSHOT_SELECTION = "resource_type:snapshot"
GOLD_SELECTION = "marts"


@contextmanager
def tests_after_load_id(load_id: str | None) -> Iterator[None]:
    """The dbt process started inside sees the plan's test scope; nothing else in this process
    (a later step, a dbt run by hand from the same Python) inherits it."""
    os.environ.pop(TESTS_AFTER_ENV, None)
    if load_id is not None:
        os.environ[TESTS_AFTER_ENV] = load_id
    try:
        yield
    finally:
        os.environ.pop(TESTS_AFTER_ENV, None)


def _dbt_build(context: AssetExecutionContext, dbt: DbtCliResource, *extra_args: str) -> Iterator[Any]:
    settings = get_settings()
    with writer_lock(settings, f"dbt {context.op_def.name}", on_wait=context.log.info):
        ensure_schemas_and_roles(settings)
        os.environ.update(dbt_process_env(settings))  # dagster-dbt hands os.environ to dbt
        os.environ["DBT_USE_COLORS"] = "false"  # its lines land in run logs and files, not a terminal
        plan = plan_for_context(settings, context)  # nothing when no new row reaches the step
        context.log.info(plan.summary if plan.skip else f"{plan.summary}; {plan.test_scope}")
        yield from plan.unchanged_results()
        if plan.skip:
            return  # and the dbt folders of the builds it reports stay
        # room for this build's folder first: Dagster may close this generator after its last event
        prune_dbt_targets(settings, keep=DBT_TARGETS_KEPT - 1)
        target = settings.dbt_runs_dir / f"{context.op_def.name}-{context.run_id[:8]}-{uuid.uuid4().hex[:6]}"
        # row counts: one cheap count(*) per materialized table, attached to its materialization;
        # dbt's unit tests check SQL logic, not data: they run in the test suite, not every build
        build = ["build", "--exclude-resource-type", "unit_test", *extra_args, *plan.exclude_args]
        with tests_after_load_id(plan.tests_after_load_id):  # read by dbt when it starts
            invocation = dbt.cli(build, context=context, target_path=target)
        yield from record_when_done(invocation.stream().fetch_row_counts(), settings, plan)


@dbt_assets(
    manifest=ensure_manifest(),
    project=carehouse_dbt,
    dagster_dbt_translator=DBT_TRANSLATOR,
    select=SILVER_SELECTION,
    name="dbt_silver",
)
def dbt_silver_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` of seeds and silver (staging, quarantine, intermediate) with their tests."""
    # buildable: a test runs here when all its parents are selected or upstream of the selection
    # (the reconciliation tests read bronze sources too), and waits for gold when it reads gold
    # (e.g. a relationship from a fact)
    yield from _dbt_build(context, dbt, "--indirect-selection", "buildable")


@dbt_assets(
    manifest=ensure_manifest(),
    project=carehouse_dbt,
    dagster_dbt_translator=DBT_TRANSLATOR,
    select=SNAPSHOT_SELECTION,
    name="dbt_snapshots",
)
def dbt_snapshot_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` of the SCD2 snapshots (patients, practitioners) with their tests."""
    yield from _dbt_build(context, dbt)


@dbt_assets(
    manifest=ensure_manifest(),
    project=carehouse_dbt,
    dagster_dbt_translator=DBT_TRANSLATOR,
    select=GOLD_SELECTION,
    name="dbt_gold",
)
def dbt_gold_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` of the gold star schema and the review mart with their tests."""
    yield from _dbt_build(context, dbt)
