"""Running a dlt load into bronze so that a crash at any point, followed by a rerun, equals a clean run.

Every bronze load, from the command line or from Dagster, goes through :func:`bronze_load`:

1. it takes the warehouse's writer lock (two loads never interleave);
2. it throws away dlt's local working folder: whatever a killed run left there (half-normalized
   packages included) is never resumed, because "already loaded" is read from bronze, and dlt
   restores its state and schema from the warehouse;
3. if a load was interrupted, it deletes the rows that load committed: a dlt load commits table
   by table, and only the row dlt writes to ``_dlt_loads`` at the very end says that all of it
   arrived, so rows whose ``_dlt_load_id`` is not there are a partial load;
4. it records the attempt, runs the block, and clears the attempt only when the block succeeds,
   after giving every dlt table an index on its load id as a number and one on its load time
   (:func:`ensure_bronze_indexes`: incremental silver, the dbt steps' skip check and the
   freshness measure read only the newest loads, by index, so a day's run does not scan the whole
   bronze history);
5. it deletes dlt's working files again (they are raw copies of the data, PHI included), whether
   the block succeeded or failed: the home keeps no spool between loads. During a load the folder
   holds the load's data about twice, uncompressed (extracted Arrow files, then normalized CSVs,
   which dlt keeps as the loaded package until the load ends); only a killed load leaves them, and
   the next load's step 2 removes them (tests/integration/test_dlt_spool.py).

Recording attempts keeps step 3 cheap: bronze is only scanned when an attempt was interrupted.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dlt
import psycopg
from psycopg import sql

from ingestion.bronze_pipeline import BRONZE_SCHEMA
from warehouse.connection import connect, table_exists
from warehouse.lock import writer_lock
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.secret_files import private_dir
from warehouse.settings import Settings

log = logging.getLogger(__name__)

ATTEMPTS_TABLE = "carehouse__load_attempts"
LOADS_TABLE = "_dlt_loads"
LOAD_ID_COLUMN = "_dlt_load_id"
# when carehouse read the row (ingestion.landing_lines; the ICD-10-CM reference: loaded_at)
LOAD_TIME_COLUMNS = ("ingested_at", "loaded_at")
_COMPLETED = 0  # _dlt_loads.status of a fully loaded package


@dataclass(frozen=True)
class SchemaChange:
    """A file whose columns differ from the previous file of its feed (it still loads)."""

    source_file: str
    columns_added: tuple[str, ...]
    columns_missing: tuple[str, ...]


@dataclass(frozen=True)
class LoadResult:
    """What one bronze load did, the same for every source (``carehouse load <source>``, the
    ``python -m`` loaders and the benchmark read it alike)."""

    source: str  # ehr | ehr-api | adt | feeds | reference
    # units of transfer that carried new data: landing files, or API pages for ehr-api (0 for
    # reference, which comes from a Python package)
    files: int
    # data rows per bronze table; rejected lines and file logs are not data rows
    rows_by_table: dict[str, int]
    rejected_rows: int = 0  # lines or records set aside in the source's rejected table
    schema_changes: tuple[SchemaChange, ...] = ()
    # landing folders with complete files that no feed claims: {system}/{entity} -> files
    unclaimed_folders: dict[str, int] = field(default_factory=dict)
    skipped_feeds: tuple[str, ...] = ()  # inactive in the load config
    # landing folders the loader found and may not read (e.g. an EHR system not in the EHR
    # registry), with why: names and counts only
    unloadable_folders: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_table.values())


def normalized_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per table of the pipeline's last run that received rows, dlt's own tables left out
    (empty when the run had nothing to normalize; tables created empty do not count)."""
    trace = pipeline.last_trace
    normalized = trace.last_normalize_info if trace else None
    counts = normalized.row_counts if normalized else {}
    return {table: int(rows) for table, rows in counts.items() if rows and not table.startswith("_dlt")}


def _ensure_attempts_table(settings: Settings) -> None:
    with connect(settings) as conn:
        conn.execute(
            sql.SQL(
                "create table if not exists {}.{} (pipeline_name text not null, started_at timestamptz"
                " not null default now(), pid integer not null, host text not null)"
            ).format(sql.Identifier(BRONZE_SCHEMA), sql.Identifier(ATTEMPTS_TABLE))
        )


def discard_unfinished_loads(settings: Settings) -> int:
    """Delete the rows of interrupted loads from every dlt table of bronze; returns the row count.

    Call it only while holding the writer lock: then no load is in flight, and every row whose
    load is not recorded as complete belongs to a load that died.
    """
    schema, attempts = sql.Identifier(BRONZE_SCHEMA), sql.Identifier(ATTEMPTS_TABLE)
    with connect(settings, autocommit=False) as conn:
        interrupted = conn.execute(sql.SQL("select exists (select from {}.{})").format(schema, attempts))
        if not interrupted.fetchone()[0]:
            return 0
        tables = load_id_tables(conn)
        completed = (
            sql.SQL("select load_id from {}.{} where status = {}").format(
                schema, sql.Identifier(LOADS_TABLE), sql.Literal(_COMPLETED)
            )
            if table_exists(conn, BRONZE_SCHEMA, LOADS_TABLE)
            else sql.SQL("select null::text where false")
        )
        removed = 0
        for table in tables:
            cursor = conn.execute(
                sql.SQL("delete from {}.{} t where t.{} not in ({})").format(
                    schema, sql.Identifier(table), sql.Identifier(LOAD_ID_COLUMN), completed
                )
            )
            if cursor.rowcount:
                log.warning("bronze.%s: removed %d row(s) of an interrupted load", table, cursor.rowcount)
                removed += cursor.rowcount
        conn.execute(sql.SQL("delete from {}.{}").format(schema, attempts))
        conn.commit()
    return removed


def _record_attempt(settings: Settings, pipeline_name: str) -> None:
    with connect(settings) as conn:
        conn.execute(
            sql.SQL("insert into {}.{} (pipeline_name, pid, host) values (%s, %s, %s)").format(
                sql.Identifier(BRONZE_SCHEMA), sql.Identifier(ATTEMPTS_TABLE)
            ),
            (pipeline_name, os.getpid(), socket.gethostname()),
        )


def _clear_attempt(settings: Settings, pipeline_name: str) -> None:
    with connect(settings) as conn:
        conn.execute(
            sql.SQL("delete from {}.{} where pipeline_name = %s and pid = %s").format(
                sql.Identifier(BRONZE_SCHEMA), sql.Identifier(ATTEMPTS_TABLE)
            ),
            (pipeline_name, os.getpid()),
        )


@contextmanager
def bronze_load(
    pipeline: dlt.Pipeline, settings: Settings, *, on_wait: Callable[[str], None] | None = None
) -> Iterator[dlt.Pipeline]:
    """Run a dlt load into bronze inside the ``with`` block, crash-safe (see the module docstring)."""
    with writer_lock(settings, f"load {pipeline.pipeline_name}", on_wait=on_wait):
        ensure_schemas_and_roles(settings)
        private_dir(settings.dlt_pipelines_dir)  # working files hold raw data: owner only
        pipeline.drop()
        _ensure_attempts_table(settings)
        discard_unfinished_loads(settings)
        _record_attempt(settings, pipeline.pipeline_name)
        try:
            yield pipeline
        finally:
            _delete_working_files(pipeline)
        ensure_bronze_indexes(settings)
        _clear_attempt(settings, pipeline.pipeline_name)


def load_id_tables(conn: psycopg.Connection) -> list[str]:
    """The bronze tables dlt writes load ids into (its own ``_dlt_loads`` left out)."""
    rows = conn.execute(
        "select table_name from information_schema.columns where table_schema = %s"
        " and column_name = %s and table_name <> %s order by table_name",
        (BRONZE_SCHEMA, LOAD_ID_COLUMN, LOADS_TABLE),
    )
    return [row[0] for row in rows]


def ensure_bronze_indexes(settings: Settings) -> None:
    """On every dlt table of bronze that lacks them: an index on ``cast(_dlt_load_id as
    numeric)`` (the expression of dbt's ``load_id_number()``), and one on its load-time column
    where it has one (the data-quality freshness model reads each table's newest load time and
    that load's rows). Built once per table (dlt creates tables, and recreates the ones it
    replaces), kept up to date by each COPY."""
    with connect(settings) as conn:
        tables = load_id_tables(conn)
        rows = conn.execute(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = %s and table_name = any(%s) and column_name = any(%s)",
            (BRONZE_SCHEMA, tables, list(LOAD_TIME_COLUMNS)),
        )
        by_load_id = sql.SQL("(cast({} as numeric))").format(sql.Identifier(LOAD_ID_COLUMN))
        indexes: list[tuple[str, str, sql.Composable]] = [
            (f"{table[:48]}__load_id_idx", table, by_load_id) for table in tables
        ]
        indexes += [(f"{table[:44]}__{column}_idx", table, sql.Identifier(column)) for table, column in rows]
        for name, table, key in indexes:
            conn.execute(
                sql.SQL("create index if not exists {} on {} ({})").format(
                    sql.Identifier(name), sql.Identifier(BRONZE_SCHEMA, table), key
                )
            )


def _delete_working_files(pipeline: dlt.Pipeline) -> None:
    """Everything dlt keeps locally: its state comes back from bronze at the next load."""
    working_dir = pipeline.working_dir
    pipeline.drop()
    shutil.rmtree(working_dir, ignore_errors=True)


def committed_source_files(
    settings: Settings, table: str, where: sql.Composable | None = None, params: tuple = ()
) -> set[str]:
    """``source_file`` values of ``bronze.<table>`` rows whose load completed (optionally
    filtered by ``where``): the ledger question "is this file in bronze?" answered from
    committed data only, never from a partial load or from local state."""
    with connect(settings) as conn:
        if not table_exists(conn, BRONZE_SCHEMA, table) or not table_exists(conn, BRONZE_SCHEMA, LOADS_TABLE):
            return set()
        query = sql.SQL(
            "select distinct t.source_file from {schema}.{table} t where t.{load_id} in"
            " (select load_id from {schema}.{loads} where status = {completed})"
        ).format(
            schema=sql.Identifier(BRONZE_SCHEMA),
            table=sql.Identifier(table),
            load_id=sql.Identifier(LOAD_ID_COLUMN),
            loads=sql.Identifier(LOADS_TABLE),
            completed=sql.Literal(_COMPLETED),
        )
        if where is not None:
            query = query + sql.SQL(" and ") + where
        return {row[0] for row in conn.execute(query, params)}
