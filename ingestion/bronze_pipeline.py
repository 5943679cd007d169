"""How every dlt pipeline of carehouse reaches bronze: one destination, one set of settings."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import dlt
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from dlt.extract.resource import DltResource

from warehouse.settings import Settings, get_settings

BRONZE_SCHEMA = "bronze"
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
    # No anonymous usage telemetry: hospital networks (and these machines) allow no such calls.
    dlt.config["runtime.dlthub_telemetry"] = False


def dlt_credentials(settings: Settings) -> PostgresCredentials:
    """dlt credentials; an empty password (a CAREHOUSE_DSN without one) is explicit so dlt does not go
    looking for one."""
    facts = settings.connection_facts
    credentials = PostgresCredentials()
    credentials.parse_native_representation(settings.dsn)
    credentials.password = facts.password
    credentials.resolve()
    return credentials


def bronze_pipeline(
    pipeline_name: str, settings: Settings | None = None, *, with_credentials: bool = True
) -> dlt.Pipeline:
    """A pipeline into the ``bronze`` schema. ``with_credentials=False`` builds it without
    touching the database (Dagster needs a pipeline object when it loads definitions; the
    real one is made per run)."""
    settings = settings or get_settings()
    configure_dlt()
    destination = (
        dlt.destinations.postgres(credentials=dlt_credentials(settings)) if with_credentials else "postgres"
    )
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination,
        dataset_name=BRONZE_SCHEMA,
        pipelines_dir=str(settings.dlt_pipelines_dir),
    )


ColumnHints = Mapping[str, Mapping[str, object]]


def declare_tables(
    resource: DltResource,
    *,
    description: str,
    columns: ColumnHints,
    routed: Sequence[tuple[str, ColumnHints, Sequence[str]]] = (),
) -> DltResource:
    """State what a resource writes before it runs: its own table's description and columns
    (Dagster shows them as the asset's description and column schema), and the other tables it
    routes rows to (name, columns, primary key), e.g. rejected lines and the file log.

    dlt starts a routed table's hints from a copy of the resource's hints the first time a row
    goes there, so the routed tables are declared first: they never inherit the resource's
    own columns or description."""
    for table_name, table_columns, primary_key in routed:
        resource.apply_hints(
            table_name=table_name,
            columns=dict(table_columns),
            primary_key=list(primary_key) or None,
            create_table_variant=True,
        )
    resource.apply_hints(columns=dict(columns), additional_table_hints={"description": description})
    return resource
