"""The dlt pipeline that pulls the EHR FHIR API into bronze, and a plain function to run it.

Same destination, dataset, dlt settings and loader file format as the file path's pipeline, but
its own pipeline name: each pipeline keeps its own local working folder and its own state row in
the warehouse, so the two paths can run side by side (or one after the other) without sharing
cursors or stepping on each other's pending load packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import dlt
from dlt.common.destination import TLoaderFileFormat
from dlt.common.pipeline import LoadInfo

from ingestion.bronze_loads import LoadResult, bronze_load, normalized_rows
from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, bronze_pipeline
from ingestion.ehr.api.search import MAX_COUNT
from ingestion.ehr.api.server import DEFAULT_HOST, DEFAULT_PORT
from ingestion.ehr.api.source import PageCallback, ehr_api_source
from ingestion.ehr.bronze import SYSTEMS_TABLE
from warehouse.settings import Settings, get_settings

API_PIPELINE_NAME = "carehouse_ehr_api"
DEFAULT_BASE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


def ehr_api_pipeline(settings: Settings | None = None, *, with_credentials: bool = True) -> dlt.Pipeline:
    """The API bronze pipeline (see :func:`ingestion.bronze_pipeline.bronze_pipeline`)."""
    return bronze_pipeline(API_PIPELINE_NAME, settings, with_credentials=with_credentials)


def load_ehr_api_to_bronze(
    settings: Settings | None = None,
    base_url: str = DEFAULT_BASE_URL,
    client_id: str | None = None,
    client_secret: str | None = None,
    *,
    systems: Sequence[str] | None = None,  # default: the EHR registry's systems
    page_size: int = MAX_COUNT,
    on_page: PageCallback | None = None,
) -> LoadResult:
    """Pull every resource changed since the last API load into bronze.

    ``LoadResult.files`` counts the API pages that carried new rows (the API's unit of
    transfer, as a file is the landing zone's). Credentials left ``None`` resolve as
    ``ingestion.ehr.api.credentials`` describes.
    """
    settings = settings or get_settings()
    pages = 0

    def count_page(system: str, entity: str, rows: int) -> None:
        nonlocal pages
        pages += rows > 0
        if on_page is not None:
            on_page(system, entity, rows)

    source = ehr_api_source(
        base_url=base_url,
        systems=systems,
        client_id=client_id,
        client_secret=client_secret,
        page_size=page_size,
        settings_factory=lambda: settings,
        on_page=count_page,
    )
    with bronze_load(ehr_api_pipeline(settings), settings) as pipeline:
        info: LoadInfo = pipeline.run(source, loader_file_format=cast(TLoaderFileFormat, LOADER_FILE_FORMAT))
        info.raise_on_failed_jobs()
        counts = normalized_rows(pipeline) if pages else {}
    counts.pop(SYSTEMS_TABLE, None)  # the registry, rewritten by every load: not data
    return LoadResult(source="ehr-api", files=pages, rows_by_table=counts)
