"""The one way a dlt source becomes Dagster assets: one asset ``bronze/<table>`` per resource,
run through ``ingestion.bronze_loads.bronze_load`` (writer lock, crash recovery, no raw working
files left behind), exactly like the command line loaders."""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dlt
from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, dlt_assets
from dlt.extract.source import DltSource

from ingestion.bronze_loads import bronze_load
from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, extracted_rows
from orchestration.assets.dlt_translator import BronzeDltTranslator
from warehouse.settings import Settings, get_settings

SourceFactory = Callable[[Callable[[], Settings]], DltSource]


def bronze_dlt_assets(
    *,
    name: str,
    description: str,
    source: SourceFactory,
    pipeline: Callable[..., dlt.Pipeline],
    upstream: Sequence[AssetKey] = (),
    after_load: Callable[[AssetExecutionContext, Settings], None] | None = None,
) -> AssetsDefinition:
    """Dagster assets for the dlt ``source`` (called with a settings factory) loaded by
    ``pipeline`` (called as ``pipeline(settings)`` or ``pipeline(with_credentials=False)``).
    The pipeline is built without credentials while Dagster loads definitions (no database
    then) and with them when a run starts. ``after_load`` runs once the load committed (e.g. to
    report what was left alone)."""

    def load(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        settings = get_settings()
        with bronze_load(pipeline(settings), settings, on_wait=context.log.info) as run_pipeline:
            # the whole load happens here, inside the guard: Dagster may close this generator as
            # soon as it has every output, so nothing may wait behind the last yield
            events = list(
                dlt.run(
                    context=context,
                    dlt_source=source(lambda: settings),
                    dlt_pipeline=run_pipeline,
                    loader_file_format=LOADER_FILE_FORMAT,
                )
            )
            rows = extracted_rows(run_pipeline)
        if after_load is not None:
            after_load(context, settings)
        yield from (with_row_count(event, rows) for event in events)

    load.__doc__ = description
    return dlt_assets(
        dlt_source=source(get_settings),
        dlt_pipeline=pipeline(with_credentials=False),
        name=name,
        dagster_dlt_translator=BronzeDltTranslator(upstream=upstream),
    )(load)


def with_row_count(event: Any, rows_by_table: dict[str, int]) -> Any:
    """The materialization with the rows this load brought its table as ``rows_loaded``
    (dagster-dlt's own key, which ``carehouse run`` and the benchmark read): dlt never normalizes
    the ready-made files carehouse imports, so dagster-dlt finds no count of its own."""
    if not isinstance(event, MaterializeResult) or event.asset_key is None:
        return event
    rows = rows_by_table.get(event.asset_key.path[-1], 0)
    return event._replace(metadata={**(event.metadata or {}), "rows_loaded": MetadataValue.int(rows)})
