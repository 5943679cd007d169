"""How every dlt pipeline of carehouse reaches bronze: one destination, one set of settings."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import dlt
import pyarrow as pa
import pyarrow.csv as pacsv
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from dlt.extract.resource import DltResource

from warehouse.settings import Settings, get_settings

BRONZE_SCHEMA = "bronze"
# COPY-based: dlt writes the Arrow batches as CSV and Postgres ingests them with COPY.
LOADER_FILE_FORMAT = "csv"
LOAD_ID_COLUMN = "_dlt_load_id"
LOAD_ID_HINT: dict[str, object] = {"data_type": "text", "nullable": False}
# Rows per CSV file handed to dlt: each file is one COPY, and dlt's load workers run them in parallel.
IMPORT_FILE_ROWS = 100_000
_IMPORT_FOLDER = "csv_imports"


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


def csv_imports(
    tables: Iterable[pa.Table],
    hints: Callable[[pa.Schema], dict[str, object]],
    constant: Sequence[str] = (),
) -> Iterator[object]:
    """The big bronze tables' rows as ready-made CSV files that dlt imports as they are and
    loads with ``COPY``: no intermediate parquet file, no normalize pass over the rows.

    Each file holds up to :data:`IMPORT_FILE_ROWS` rows of consecutive ``tables`` with the same
    columns (lineage included, names as in bronze) plus ``_dlt_load_id``, which dlt's normalizer
    would otherwise add. The ``constant`` columns hold one value per table (lineage of one
    landing file): they are rendered once per table, not once per row. ``hints(schema)``
    (``dlt.mark.make_hints``: table name, every column including ``_dlt_load_id``) tells dlt the
    table, since it reads nothing from an imported file. The files live in the pipeline's
    working folder, which every bronze load deletes (they are raw data)."""
    batch: list[pa.Table] = []
    rows = 0
    target: tuple[Path, pa.Scalar] | None = None  # looked up with the first rows: it costs dlt ~40 ms
    for table in tables:
        if batch and not table.schema.equals(batch[0].schema):
            target = target or _import_target()
            yield from _import_file(batch, *target, hints, constant)
            batch, rows = [], 0
        while table.num_rows:
            take = min(table.num_rows, IMPORT_FILE_ROWS - rows)
            batch.append(table.slice(0, take))
            table, rows = table.slice(take), rows + take
            if rows == IMPORT_FILE_ROWS:
                target = target or _import_target()
                yield from _import_file(batch, *target, hints, constant)
                batch, rows = [], 0
    if rows:
        yield from _import_file(batch, *(target or _import_target()), hints, constant)


def _import_target() -> tuple[Path, pa.Scalar]:
    """Where the running pipeline's import files go, and its load id."""
    folder = Path(dlt.current.pipeline().working_dir) / _IMPORT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder, pa.scalar(dlt.current.load_package_state()["load_id"], pa.string())


def _import_file(
    tables: list[pa.Table],
    folder: Path,
    load_id: pa.Scalar,
    hints: Callable[[pa.Schema], dict[str, object]],
    constant: Sequence[str],
) -> Iterator[object]:
    schema = tables[0].schema
    varying = [name for name in schema.names if name not in constant]
    header = ",".join([*varying, *constant, LOAD_ID_COLUMN]) + "\n"
    handle, name = tempfile.mkstemp(suffix=".csv", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(header.encode())
            for table in tables:
                file.write(_csv_rows(table, varying, constant, load_id))
        # dlt hard-links the file into its load package while it handles the item
        rows = sum(table.num_rows for table in tables)
        yield dlt.mark.with_file_import(name, LOADER_FILE_FORMAT, rows, hints=hints(schema))
    finally:
        os.unlink(name)


# pyarrow ends each row with this; no value can hold a NUL byte (Postgres text cannot store
# one, so readers reject such lines), so it marks exactly the ends of rows
_ROW_END = "\x00\n"


def _csv_rows(table: pa.Table, varying: list[str], constant: Sequence[str], load_id: pa.Scalar) -> bytes:
    """The table as CSV rows, the same as dlt's writer makes (every valid value quoted, nulls
    empty): pyarrow writes the varying columns, and the constant ones, rendered once, end every row."""
    ending = {name: table.column(name).slice(0, 1) for name in constant}
    ending[LOAD_ID_COLUMN] = pa.array([load_id])
    suffix = _write_csv(pa.table(ending), eol="")
    body = _write_csv(table.select(varying), eol=_ROW_END)
    if body.count(b"\x00") != table.num_rows:  # cannot happen: never trust it silently
        raise ValueError("a bronze value holds a NUL byte")
    return body.replace(_ROW_END.encode(), b"," + suffix + b"\n")


def _write_csv(table: pa.Table, eol: str) -> bytes:
    sink = pa.BufferOutputStream()
    # every valid value quoted (nulls stay empty): the CSV dlt's own writer makes, but pyarrow
    # writes it ~3x faster than when it checks which values need quotes
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="all_valid", eol=eol))
    return sink.getvalue().to_pybytes()


def extracted_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per table of the pipeline's last run, dlt's own tables left out, counted when
    extracted: imported CSV files are never read by dlt's normalizer, so only the extract
    step knows their rows."""
    trace = pipeline.last_trace
    info = trace.last_extract_info if trace else None
    counts: dict[str, int] = {}
    for package in info.metrics.values() if info else ():
        for step in package:
            for table, metrics in step["table_metrics"].items():
                if not table.startswith("_dlt"):
                    counts[table] = counts.get(table, 0) + metrics.items_count
    return {table: rows for table, rows in counts.items() if rows}


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
