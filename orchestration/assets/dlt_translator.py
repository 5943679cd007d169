"""Asset keys for dlt resources: ``bronze/<table>``, the keys the dbt sources get too."""

from collections.abc import Sequence

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.bronze_pipeline import BRONZE_SCHEMA


class BronzeDltTranslator(DagsterDltTranslator):
    """Keys match ``CarehouseDbtTranslator``'s source keys, so lineage runs dlt → dbt with no
    placeholder assets; ``upstream`` names what feeds the source (e.g. the landing zone)."""

    def __init__(self, upstream: Sequence[AssetKey] = ()) -> None:
        self.upstream = list(upstream)

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=AssetKey([BRONZE_SCHEMA, data.resource.table_name]),
            deps=self.upstream,
            group_name="bronze",
        )
