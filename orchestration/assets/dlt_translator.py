"""Dagster specs for dlt resources: key ``bronze/<table>`` (the key the dbt sources get too),
the table's own description and column schema from the resource's dlt hints, and an owner."""

from collections.abc import Sequence

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.bronze_pipeline import BRONZE_SCHEMA
from orchestration.assets.owners import DATA_ENGINEERING
from orchestration.assets.table_schema import COLUMN_SCHEMA_KEY, schema_from_dlt_columns


class BronzeDltTranslator(DagsterDltTranslator):
    """Keys match ``CarehouseDbtTranslator``'s source keys, so lineage runs dlt → dbt with no
    placeholder assets; ``upstream`` names what feeds the source (e.g. the landing zone)."""

    def __init__(self, upstream: Sequence[AssetKey] = ()) -> None:
        self.upstream = list(upstream)

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        # the hints the resource declares for its own table (ingestion.bronze_pipeline.declare_tables)
        table = data.resource.compute_table_schema()
        return spec.replace_attributes(
            key=AssetKey([BRONZE_SCHEMA, data.resource.table_name]),
            deps=self.upstream,
            group_name="bronze",
            description=table.get("description") or spec.description,
            owners=[DATA_ENGINEERING],
            metadata={
                **spec.metadata,
                COLUMN_SCHEMA_KEY: schema_from_dlt_columns(table.get("columns", {})),
            },
        )
