"""``carehouse load ehr-bulk``: one Bulk Data ``$export`` of an EHR system into bronze.

Export (``bulk_client``) into a temporary folder under the carehouse home, stage that folder as
landing batches (``ingestion.ehr.bulk_export.stage_bulk_export``), load them like any EHR batch
(``load_ehr_to_bronze``), and only then record the export in ``bronze.ehr__bulk_exports``.

**Where ``_since`` comes from.** The next export asks for what changed since the previous
export's ``transactionTime``. The source of truth is that table in bronze, not local state: it
lives in the warehouse (a lost carehouse home or dlt folder loses nothing) and a row is written
only after the export's rows are committed in bronze, so a crash between the two repeats the
export (rows land twice, silver de-duplicates) and never skips one. An earlier export counts for
a new one only if it covered it: same system, same group (or both system level), and every type
asked for now (an export of all types covers any ``_type``; a ``_type`` export covers only
exports of a subset of its types).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql
from psycopg.types.json import Jsonb

from ingestion.bronze_loads import LoadResult
from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.ehr.api.bulk_client import BulkExportError, BulkExportResult, export_to_folder
from ingestion.ehr.api.bulk_keys import SigningKey
from warehouse.connection import connect
from warehouse.lock import writer_lock
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

log = logging.getLogger(__name__)

EXPORT_LOG_TABLE = "ehr__bulk_exports"


@dataclass(frozen=True)
class BulkLoadResult:
    """One ``load ehr-bulk``: the export, the ``_since`` it asked for, the staging and the load."""

    system: str
    since: str | None
    export: BulkExportResult
    batch_id: str  # the landing batch the export was staged as ("" when it delivered no file)
    load: LoadResult


def _table() -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(BRONZE_SCHEMA), sql.Identifier(EXPORT_LOG_TABLE))


def ensure_export_log(settings: Settings) -> None:
    with connect(settings) as conn:
        conn.execute(
            sql.SQL(
                "create table if not exists {} (system text not null, group_id text, types text[],"
                " transaction_time timestamptz not null, transaction_time_text text not null,"
                " request text not null, files integer not null, resources integer not null,"
                " batch_id text not null, manifest jsonb not null,"
                " loaded_at timestamptz not null default now())"
            ).format(_table())
        )


def _types_key(types: Sequence[str]) -> list[str] | None:
    return sorted(set(types)) or None


def previous_transaction_time(
    settings: Settings, system: str, group_id: str | None = None, types: Sequence[str] = ()
) -> str | None:
    """``transactionTime`` (as the server wrote it) of the latest recorded export covering this one."""
    ensure_schemas_and_roles(settings)
    ensure_export_log(settings)
    wanted = _types_key(types)
    query = sql.SQL(
        "select transaction_time_text from {} where system = %s and group_id is not distinct from %s"
        " and (types is null or (%s::text[] is not null and %s::text[] <@ types))"
        " order by transaction_time desc limit 1"
    ).format(_table())
    with connect(settings) as conn:
        row = conn.execute(query, (system, group_id, wanted, wanted)).fetchone()
    return row[0] if row else None


def record_export(
    settings: Settings,
    system: str,
    group_id: str | None,
    types: Sequence[str],
    export: BulkExportResult,
    batch_id: str,
) -> None:
    ensure_export_log(settings)
    manifest = export.manifest
    with connect(settings) as conn:
        conn.execute(
            sql.SQL(
                "insert into {} (system, group_id, types, transaction_time, transaction_time_text, request,"
                " files, resources, batch_id, manifest) values (%s, %s, %s, %s::timestamptz, %s, %s, %s, %s,"
                " %s, %s)"
            ).format(_table()),
            (
                system,
                group_id,
                _types_key(types),
                export.transaction_time,
                export.transaction_time,
                str(manifest.get("request", "")),
                len(export.files),
                export.resources,
                batch_id,
                Jsonb(manifest),
            ),
        )


def _stage_and_load(settings: Settings, folder: Path, system: str) -> tuple[str, LoadResult]:
    """The export folder as landing batches of ``system``, then the EHR load."""
    from ingestion.ehr.bulk_export import BulkExportError as StagingError
    from ingestion.ehr.bulk_export import stage_bulk_export
    from ingestion.ehr.pipeline import load_ehr_to_bronze

    try:
        staged = stage_bulk_export(settings, folder, system)
    except StagingError as exc:
        raise BulkExportError(f"staging the export: {exc}") from None
    return staged.batch_id, load_ehr_to_bronze(settings)


def load_ehr_bulk_to_bronze(
    settings: Settings,
    system: str,
    *,
    fhir_base: str,
    client_id: str,
    key: SigningKey,
    token_url: str | None = None,
    group_id: str | None = None,
    types: Sequence[str] = (),
    since: str | None = None,
    full: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> BulkLoadResult:
    """Export ``system`` from ``fhir_base`` and load it into bronze (see the module docstring).

    ``since`` overrides the recorded ``_since``; ``full`` asks for everything. The temporary
    export folder (raw PHI) lives under the carehouse home and is removed afterwards.
    """
    with writer_lock(settings, f"load ehr-bulk {system}"):
        if since is None and not full:
            since = previous_transaction_time(settings, system, group_id, types)
        log.info("bulk export of %s since %s", system, since or "the beginning")
        settings.home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".ehr-bulk-", dir=settings.home) as temp:
            export = export_to_folder(
                fhir_base,
                Path(temp),
                client_id=client_id,
                key=key,
                token_url=token_url,
                group_id=group_id,
                types=types,
                since=since,
                sleep=sleep,
            )
            if export.files:
                batch_id, load = _stage_and_load(settings, Path(temp), system)
            else:  # nothing changed: no batch to stage; the export is still recorded below
                batch_id, load = "", LoadResult(source="ehr-bulk", files=0, rows_by_table={})
        record_export(settings, system, group_id, types, export, batch_id)
    return BulkLoadResult(system, since, export, batch_id, load)
