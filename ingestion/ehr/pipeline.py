"""The dlt pipeline that lands EHR files in bronze, and a plain function to run it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.postgres.configuration import PostgresCredentials

from ingestion.ehr.bronze import BRONZE_SCHEMA, ehr_bronze_source
from warehouse.settings import Settings, get_settings

PIPELINE_NAME = "carehouse_ehr"
# COPY-based: dlt writes the Arrow batches as CSV and Postgres ingests them with COPY.
LOADER_FILE_FORMAT = "csv"


class _ExpectedArrowHintNotice(logging.Filter):
    """dlt warns that the Arrow string column ``resource`` differs from its ``json`` hint; that
    difference is the point (Postgres parses the text into jsonb during COPY), so drop the notice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


def configure_dlt() -> None:
    """Process-wide dlt settings carehouse relies on."""
    dlt_logger = logging.getLogger("dlt")
    if not any(isinstance(f, _ExpectedArrowHintNotice) for f in dlt_logger.filters):
        dlt_logger.addFilter(_ExpectedArrowHintNotice())
    # Arrow tables skip dlt's row normaliser, which only stamps _dlt_load_id on JSON rows by
    # default; bronze lineage needs it on every row.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    # Intermediate files are local and short-lived: gzip would cost more than the whole COPY.
    dlt.config["data_writer.disable_compression"] = True
    # Several files per table let dlt's load workers COPY in parallel.
    dlt.config["data_writer.file_max_items"] = 100_000
    dlt.config["runtime.log_level"] = "WARNING"


def _credentials(settings: Settings) -> PostgresCredentials:
    """dlt credentials; an empty password is explicit (trust auth) so dlt does not go looking."""
    facts = settings.connection_facts
    credentials = PostgresCredentials()
    credentials.parse_native_representation(settings.dsn)
    credentials.password = facts.password
    credentials.resolve()
    return credentials


def ehr_pipeline(settings: Settings | None = None, *, with_credentials: bool = True) -> dlt.Pipeline:
    """The bronze pipeline. ``with_credentials=False`` builds it without touching the database
    (Dagster needs a pipeline object when it loads definitions; the real one is made per run)."""
    settings = settings or get_settings()
    configure_dlt()
    destination = (
        dlt.destinations.postgres(credentials=_credentials(settings)) if with_credentials else "postgres"
    )
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=destination,
        dataset_name=BRONZE_SCHEMA,
        pipelines_dir=str(settings.dlt_pipelines_dir),
    )


@dataclass(frozen=True)
class BronzeLoadResult:
    rows_by_table: dict[str, int]
    files: int

    @property
    def rows(self) -> int:
        return sum(self.rows_by_table.values())


def load_ehr_to_bronze(
    settings: Settings | None = None, on_file: Callable[[str, Path], None] | None = None
) -> BronzeLoadResult:
    """Land every new complete EHR file in bronze (used by ``python -m ingestion.ehr`` and the bench)."""
    settings = settings or get_settings()
    files: list[Path] = []

    def count_file(entity: str, path: Path) -> None:
        files.append(path)
        if on_file is not None:
            on_file(entity, path)

    pipeline = ehr_pipeline(settings)
    info: LoadInfo = pipeline.run(
        ehr_bronze_source(lambda: settings, on_file=count_file), loader_file_format=LOADER_FILE_FORMAT
    )
    info.raise_on_failed_jobs()
    row_counts = dict(pipeline.last_trace.last_normalize_info.row_counts) if files else {}
    rows = {table: count for table, count in row_counts.items() if not table.startswith("_dlt")}
    return BronzeLoadResult(rows_by_table=rows, files=len(files))
