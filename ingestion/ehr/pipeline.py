"""The dlt pipeline that lands EHR files in bronze, and a plain function to run it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import dlt
from dlt.common.pipeline import LoadInfo

from ingestion.bronze_loads import LoadResult, bronze_load
from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, bronze_pipeline, extracted_rows
from ingestion.ehr.bronze import (
    FILE_LOG_TABLE,
    REJECTED_TABLE,
    SYSTEMS_TABLE,
    ehr_bronze_source,
    scan_ehr_landing,
    unmodeled_tables,
)
from ingestion.ehr.registry import EhrRegistry, load_ehr_registry
from warehouse.settings import Settings, get_settings

PIPELINE_NAME = "carehouse_ehr"

log = logging.getLogger(__name__)


def ehr_pipeline(settings: Settings | None = None, *, with_credentials: bool = True) -> dlt.Pipeline:
    """The EHR bronze pipeline (see :func:`ingestion.bronze_pipeline.bronze_pipeline`)."""
    return bronze_pipeline(PIPELINE_NAME, settings, with_credentials=with_credentials)


def load_ehr_to_bronze(
    settings: Settings | None = None,
    on_file: Callable[[str, Path], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    registry: EhrRegistry | None = None,
) -> LoadResult:
    """Land every new complete EHR file of the registered systems in bronze (used by
    ``carehouse load ehr`` / ``load fhir-bulk``, ``python -m ingestion.ehr`` and the bench);
    the registry (default: :func:`load_ehr_registry`) is read once, before the load."""
    settings = settings or get_settings()
    registry = registry or load_ehr_registry()
    files: list[Path] = []

    def count_file(entity: str, path: Path) -> None:
        files.append(path)
        if on_file is not None:
            on_file(entity, path)

    with bronze_load(ehr_pipeline(settings), settings, on_wait=on_wait) as pipeline:
        info: LoadInfo = pipeline.run(
            ehr_bronze_source(lambda: settings, on_file=count_file, registry_factory=lambda: registry),
            loader_file_format=LOADER_FILE_FORMAT,
        )
        info.raise_on_failed_jobs()
        counts = extracted_rows(pipeline) if files else {}
    rejected = counts.pop(REJECTED_TABLE, 0)
    counts.pop(FILE_LOG_TABLE, None)
    counts.pop(SYSTEMS_TABLE, None)  # the registry, rewritten by every load: not data
    unloadable = scan_ehr_landing(settings, registry).unloadable
    return LoadResult(
        source="ehr",
        files=len(files),
        rows_by_table=counts,
        rejected_rows=rejected,
        unloadable_folders=unloadable,
    )


def report_ehr_leftovers(settings: Settings, logger: logging.Logger = log) -> None:
    """Warn about what an EHR load kept out of silver, so nothing is dropped without a word
    (``logger``: the Dagster asset passes its run log): resource types that landed in bronze but
    that silver does not model yet, and landing folders no EHR load may read."""
    for table, rows in unmodeled_tables(settings).items():
        logger.warning("%d rows in bronze.%s: not modeled in silver yet", rows, table)
    for folder, why in scan_ehr_landing(settings).unloadable.items():
        logger.warning("not loaded: %s: %s", folder, why)
