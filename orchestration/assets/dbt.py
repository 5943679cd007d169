"""dbt models, seeds and snapshots as Dagster assets; dbt tests become asset checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.dbt_project import carehouse_dbt, ensure_manifest
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import get_settings


class CarehouseDbtTranslator(DagsterDbtTranslator):
    """Keys are ``<schema>/<relation>``: bronze sources line up with the dlt assets' keys, so
    lineage runs dlt → dbt with no placeholder assets, and each layer reads as a key prefix."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") not in {"model", "seed", "snapshot", "source"}:
            return spec
        relation = props.get("identifier") or props.get("alias") or props["name"]
        layer = props.get("schema") or "dbt"
        group = "bronze" if props["resource_type"] == "source" else layer
        return spec.replace_attributes(key=AssetKey([layer, relation]), group_name=group)


DBT_TRANSLATOR = CarehouseDbtTranslator()


@dbt_assets(manifest=ensure_manifest(), project=carehouse_dbt, dagster_dbt_translator=DBT_TRANSLATOR)
def carehouse_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build``: seeds, silver, snapshots and gold, each followed by its tests."""
    settings = get_settings()
    ensure_schemas_and_roles(settings)
    settings.export_dbt_env()  # dbt's profiles.yml reads the connection from these variables
    yield from dbt.cli(["build"], context=context).stream()
