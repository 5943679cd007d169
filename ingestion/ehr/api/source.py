"""dlt source that pulls the EHR's FHIR API into the same bronze tables as the file path.

One resource per entity, named like the file loader's (``ehr__<entity>``), with the same
columns, hints and file format: rows travel as Arrow tables (``resource`` as JSON text with the
``json`` hint) and reach Postgres through the csv loader file format, i.e. ``COPY``. Lineage is
the file path's, read for an API: ``ehr_system`` is the system whose endpoint served the row,
``batch_id`` is ``api-<UTC stamp of the load>`` (from dlt's load id, so every table of one load
agrees), ``source_file`` is the request's path and query (the token travels in a header, never
in a URL) and ``line_number`` is the entry's 1-based position in that page's Bundle.

Incremental on ``meta.lastUpdated``, per (system, entity). ``dlt.sources.incremental`` cannot
read a cursor out of an Arrow table's JSON text column, so the resource keeps the same two facts
in its own ``dlt.current.resource_state()`` (saved with the load package, so a failed load does
not advance it): the highest ``lastUpdated`` seen and the ids seen at exactly that instant. The
next load asks for ``_lastUpdated=ge<cursor>`` and skips those ids, so a resource stamped in the
same instant as the cursor but served later is not lost, and none is loaded twice. If bronze
holds no API rows of a system (new or swapped warehouse), its cursor is ignored and the system
is pulled in full, so local dlt state can never hide data bronze does not have.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

import dlt
import orjson
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.redaction import sanitize_url

from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.ehr.api.app import TOKEN_PATH
from ingestion.ehr.api.client import ReauthOAuth2ClientCredentials, fhir_client, oauth2
from ingestion.ehr.api.credentials import resolve_api_credentials
from ingestion.ehr.api.index import format_instant, instant_us
from ingestion.ehr.api.search import MAX_COUNT
from ingestion.ehr.bronze import (
    ARROW_BATCH_ROWS,
    REJECTED_HINTS,
    REJECTED_TABLE,
    RESOURCE_HINTS,
    bronze_table,
    registry_resource,
)
from ingestion.ehr.registry import load_ehr_registry
from ingestion.ehr.resources import ENTITIES, RESOURCE_TYPES
from ingestion.landing_lines import repeated_columns
from warehouse.connection import connect, table_exists
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOURCE_NAME = "ehr_api"
API_BATCH_PREFIX = "api-"
_NUL_ESCAPE = b"\\u0000"
_BEFORE_EVERYTHING = -(2**62)  # µs: a cursor that nothing has advanced yet

PageCallback = Callable[[str, str, int], None]  # (system, entity, rows loaded from the page)


def api_batch_id(load_id: str) -> str:
    """``api-<UTC stamp>`` of a dlt load id (a unix timestamp), e.g. ``api-20250302T060000.123456Z``.

    Microseconds keep two loads in one second apart; like file batch ids, they sort by time.
    """
    moment = datetime.fromtimestamp(float(load_id), UTC)
    return f"{API_BATCH_PREFIX}{moment:%Y%m%dT%H%M%S}.{moment.microsecond:06d}Z"


@dataclass
class Cursor:
    """Where the previous load of one (system, entity) stopped: see the module docstring."""

    last_updated_us: int
    ids_at_last_updated: set[str] = field(default_factory=set)

    @classmethod
    def from_state(cls, saved: dict[str, Any] | None) -> Cursor | None:
        if not saved:
            return None
        micros = instant_us(saved["last_updated"])
        return None if micros is None else cls(micros, set(saved.get("ids_at_last_updated", [])))

    def to_state(self) -> dict[str, Any]:
        return {
            "last_updated": format_instant(self.last_updated_us),
            "ids_at_last_updated": sorted(self.ids_at_last_updated),
        }

    def already_loaded(self, micros: int, resource_id: str | None) -> bool:
        return micros == self.last_updated_us and resource_id in self.ids_at_last_updated

    def advance(self, micros: int, resource_id: str | None) -> None:
        if micros > self.last_updated_us:
            self.last_updated_us, self.ids_at_last_updated = micros, set()
        if micros == self.last_updated_us and resource_id is not None:
            self.ids_at_last_updated.add(resource_id)


@dataclass
class _Rows:
    """Rows of one system collected across pages until an Arrow batch is worth yielding."""

    resources: list[bytes] = field(default_factory=list)
    source_files: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # (source_file, line, text)


@dataclass(frozen=True)
class _Lineage:
    ehr_system: str
    tenant: str
    environment: str
    batch_id: str
    ingested_at: datetime

    def columns(self, source_files: list[str], lines: list[int]) -> dict[str, pa.Array]:
        """The lineage columns, in the file path's order (resource first, line_number last)."""
        text = {
            "ehr_system": self.ehr_system,
            "tenant": self.tenant,
            "environment": self.environment,
            "batch_id": self.batch_id,
        }
        columns = repeated_columns(text, self.ingested_at, len(lines))
        ingested_at = columns.pop("ingested_at")  # keep the file path's column order
        columns["source_file"] = pa.array(source_files, pa.string())
        columns["ingested_at"] = ingested_at
        return columns


def _columns(hints: dict[str, dict[str, object]]) -> TTableSchemaColumns:
    """The file loader's column hints, typed as dlt wants them (they are the same dicts)."""
    return cast(TTableSchemaColumns, hints)


def _resource_rows(entity: str, rows: _Rows, lineage: _Lineage) -> Any:
    # orjson wrote these bytes, so they are valid UTF-8: view them as strings without decoding
    table = pa.table(
        {
            "resource": pa.array(rows.resources, pa.binary()).view(pa.string()),
            **lineage.columns(rows.source_files, rows.lines),
            "line_number": pa.array(rows.lines, pa.int64()),
        }
    )
    hints = dlt.mark.make_hints(
        table_name=bronze_table(entity), columns=_columns(RESOURCE_HINTS), file_format="csv"
    )
    return dlt.mark.with_hints(table, hints, create_table_variant=True)


def _rejected_rows(entity: str, rows: _Rows, lineage: _Lineage) -> Any:
    source_files, lines, texts = (list(column) for column in zip(*rows.rejected, strict=True))
    table = pa.table(
        {
            "entity": pa.array([entity] * len(lines), pa.string()),
            "error": pa.array(
                ["contains a \\u0000 escape that jsonb cannot store"] * len(lines), pa.string()
            ),
            "raw_line": pa.array(texts, pa.string()),
            **lineage.columns(source_files, lines),
            "line_number": pa.array(lines, pa.int64()),
        }
    )
    hints = dlt.mark.make_hints(
        table_name=REJECTED_TABLE, write_disposition="append", columns=_columns(REJECTED_HINTS)
    )
    return dlt.mark.with_hints(table, hints, create_table_variant=True)


def _dump(resource: Any) -> bytes:
    try:
        return orjson.dumps(resource)
    except TypeError:  # integers beyond 64 bits: the stdlib writes them, Postgres' numeric reads them
        import json

        return json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _last_updated_us(resource: dict[str, Any]) -> int | None:
    meta = resource.get("meta")
    stamp = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return instant_us(stamp) if isinstance(stamp, str) else None


def _collect_page(
    bundle: dict[str, Any], source_file: str, cursor: Cursor, seen: Cursor | None, rows: _Rows
) -> int:
    """Add a page's new entries to ``rows``, advance ``cursor``; returns how many rows it added.

    ``seen`` is the cursor the load started from: entries it already covers are skipped.
    """
    added = 0
    for line, entry in enumerate(bundle.get("entry") or [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue  # a search entry without a resource (e.g. an OperationOutcome-only entry)
        resource_id = resource.get("id") if isinstance(resource.get("id"), str) else None
        micros = _last_updated_us(resource)
        if micros is not None:
            if seen is not None and seen.already_loaded(micros, resource_id):
                continue
            cursor.advance(micros, resource_id)
        raw = _dump(resource)
        if _NUL_ESCAPE in raw:
            rows.rejected.append((source_file, line, raw.decode("utf-8")))
        else:
            rows.resources.append(raw)
            rows.source_files.append(source_file)
            rows.lines.append(line)
        added += 1
    return added


def _request_path(url: str) -> str:
    """Path and query of a request URL: the API row's ``source_file`` (sensitive params masked)."""
    parts = urlsplit(sanitize_url(url))
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def systems_with_api_rows(settings: Settings, entity: str, systems: Sequence[str]) -> set[str]:
    """Systems of which bronze already holds rows this API path loaded for ``entity``."""
    table = bronze_table(entity)
    found: set[str] = set()
    with connect(settings) as conn:
        if not table_exists(conn, BRONZE_SCHEMA, table):
            return found
        for system in systems:
            row = conn.execute(
                f"select exists (select 1 from {BRONZE_SCHEMA}.{table}"
                " where ehr_system = %s and batch_id like %s)",
                (system, API_BATCH_PREFIX + "%"),
            ).fetchone()
            if row and row[0]:
                found.add(system)
    return found


class _Connection:
    """Per-load state shared by every resource: one token for the whole load, made on first use."""

    def __init__(self, base_url: str, client_id: str | None, client_secret: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id, self._client_secret = client_id, client_secret
        self._auth: ReauthOAuth2ClientCredentials | None = None

    def auth(self) -> ReauthOAuth2ClientCredentials:
        if self._auth is None:
            credentials = resolve_api_credentials(self._client_id, self._client_secret)
            self._auth = oauth2(self.base_url + TOKEN_PATH, credentials)
        return self._auth


def _entity_resource(
    entity: str,
    connection: _Connection,
    systems: Sequence[str],
    settings_factory: Callable[[], Settings],
    page_size: int,
    on_page: PageCallback | None,
) -> DltResource:
    resource_type = RESOURCE_TYPES[entity]

    @dlt.resource(
        name=bronze_table(entity),
        write_disposition="append",
        primary_key=("source_file", "line_number"),
    )
    def pull_entity() -> Iterator[Any]:
        settings = settings_factory()
        batch_id = api_batch_id(dlt.current.load_package_state()["load_id"])
        ingested_at = datetime.now(UTC)
        cursors: dict[str, Any] = dlt.current.resource_state().setdefault("cursors", {})
        loaded_before = systems_with_api_rows(settings, entity, systems)
        for system in systems:
            lineage = _Lineage(system, settings.tenant, settings.environment, batch_id, ingested_at)
            if system not in loaded_before:
                cursors.pop(system, None)  # bronze lacks what the cursor claims: pull in full
            seen = Cursor.from_state(cursors.get(system))
            yield from _pull_system(
                entity, resource_type, connection, lineage, seen, cursors, page_size, on_page
            )

    pull_entity.__doc__ = f"Changed {resource_type} resources from the EHR FHIR API, raw, with lineage."
    return pull_entity


def _pull_system(
    entity: str,
    resource_type: str,
    connection: _Connection,
    lineage: _Lineage,
    seen: Cursor | None,
    cursors: dict[str, Any],
    page_size: int,
    on_page: PageCallback | None,
) -> Iterator[Any]:
    system = lineage.ehr_system
    params: dict[str, Any] = {"_count": page_size}
    if seen is None:
        cursor = Cursor(_BEFORE_EVERYTHING)
    else:
        params["_lastUpdated"] = "ge" + format_instant(seen.last_updated_us)
        cursor = Cursor(seen.last_updated_us, set(seen.ids_at_last_updated))
    client = fhir_client(f"{connection.base_url}/{system}/fhir", connection.auth())
    rows = _Rows()
    for page in client.paginate(resource_type, params=params):
        added = _collect_page(page[0], _request_path(page.response.url), cursor, seen, rows)
        if on_page is not None:
            on_page(system, entity, added)
        if len(rows.resources) >= ARROW_BATCH_ROWS:
            yield _resource_rows(entity, rows, lineage)
            rows = _Rows(rejected=rows.rejected)
    if rows.resources:
        yield _resource_rows(entity, rows, lineage)
    if rows.rejected:
        yield _rejected_rows(entity, rows, lineage)
    if cursor != seen and cursor.last_updated_us != _BEFORE_EVERYTHING:
        cursors[system] = cursor.to_state()
        log.info("ehr api %s/%s: cursor now %s", system, entity, cursors[system]["last_updated"])


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def ehr_api_source(
    base_url: str = dlt.config.value,
    systems: Sequence[str] | None = None,
    client_id: TSecretStrValue | None = None,
    client_secret: TSecretStrValue | None = None,
    entities: Sequence[str] = ENTITIES,
    page_size: int = MAX_COUNT,
    settings_factory: Callable[[], Settings] = get_settings,
    on_page: PageCallback | None = None,
) -> list[DltResource]:
    """Every entity of ``systems`` from the FHIR API at ``base_url`` (e.g. ``http://127.0.0.1:8090``).

    ``base_url`` is the server root: system ``s`` lives at ``{base_url}/{s}/fhir`` and tokens
    come from ``{base_url}/oauth/token``. Credentials left ``None`` resolve when the load runs
    (dlt secrets ``sources.ehr_api.*``, then carehouse's env variables, then dev defaults), so
    a source can be defined, e.g. by Dagster, without them. Settings are read when the load runs.
    ``systems`` default to the EHR registry's (``ingestion.ehr.registry``), which the load also
    writes to ``bronze.ehr__systems`` as the file path does.
    """
    connection = _Connection(base_url, client_id, client_secret)
    names = tuple(systems) if systems is not None else load_ehr_registry().names
    return [
        *(
            _entity_resource(entity, connection, names, settings_factory, page_size, on_page)
            for entity in entities
        ),
        registry_resource(),
    ]
