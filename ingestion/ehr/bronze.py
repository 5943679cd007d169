"""dlt source that lands the EHR's NDJSON bulk files in ``bronze``, untouched.

One table per FHIR resource type (``bronze.ehr__<entity>``): the raw resource as jsonb plus
lineage (file, line, EHR system, tenant, environment, batch, ingestion time, ``_dlt_load_id``).
The types silver models (``ENTITIES``) have a resource each; every other type found in the
landing zone lands through one more resource, ``ehr__other_resources``, into its own
``bronze.ehr__<entity>`` table created on first sight: nothing an export carries is dropped.
Only systems of the EHR registry are read (``ingestion.ehr.registry``); landing folders of
other systems, and entity folders whose name cannot be a table name, are reported
(:func:`scan_ehr_landing`), never loaded and never silently skipped. The registry itself is
written to ``bronze.ehr__systems`` in the same load, for dbt's tests on ``ehr_system``.
A line that is not a JSON object cannot be stored as a resource, so it goes to
``bronze.ehr__rejected_line`` with the error and the raw text: never dropped, and it never
fails the batch.

Files are the unit of incrementality. Only files of batches verified against their manifests
are read (``ingestion.landing_audit``). Each loaded file gets a row in ``bronze.ehr__file_log``
in the same dlt load as its lines, and a file counts as loaded only when that load completed:
never from partial evidence, never from local pipeline state, so the load is idempotent when
the local dlt state is lost or a fresh machine points at the same warehouse. Rows travel as
Arrow tables and reach Postgres through dlt's csv loader file format, i.e. ``COPY``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dlt
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pajson
from dlt.sources import DltResource
from psycopg import sql

from ingestion.bronze_loads import committed_source_files
from ingestion.bronze_pipeline import BRONZE_SCHEMA, LOAD_ID_COLUMN, LOAD_ID_HINT, csv_imports, declare_tables
from ingestion.ehr.registry import RESERVED_NAMES, EhrRegistry, load_ehr_registry
from ingestion.ehr.resources import DESCRIPTIONS, ENTITIES
from ingestion.landing import DATA_FILE_PATTERN
from ingestion.landing_audit import LandingScope, batch_folders, loadable_files, verify_scope
from ingestion.landing_lines import (
    FILE_LOG_HINTS,
    FileLineage,
    classify_line,
    file_log_table,
    repeated_columns,
    strip_bom,
)
from warehouse.connection import connect
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOURCE_NAME = "ehr"

REJECTED_TABLE = "ehr__rejected_line"
FILE_LOG_TABLE = "ehr__file_log"
SYSTEMS_TABLE = "ehr__systems"
OTHER_RESOURCES = "ehr__other_resources"  # the dlt resource (and Dagster asset) of unmodeled types
ARROW_BATCH_ROWS = 50_000

_LINEAGE_HINTS: dict[str, dict[str, object]] = {
    "ehr_system": {
        "data_type": "text",
        "nullable": False,
        "description": "EHR vendor system the file came from",
    },
    "tenant": {"data_type": "text", "nullable": False},
    "environment": {"data_type": "text", "nullable": False},
    "batch_id": {"data_type": "text", "nullable": False, "description": "extract batch folder (UTC stamp)"},
    "source_file": {
        "data_type": "text",
        "nullable": False,
        "description": "path relative to the landing root",
    },
    "line_number": {"data_type": "bigint", "nullable": False, "description": "1-based line in source_file"},
    "ingested_at": {"data_type": "timestamp", "nullable": False},
}
RESOURCE_HINTS = {
    "resource": {
        "data_type": "json",
        "nullable": False,
        "description": "the FHIR resource exactly as received",
    },
    **_LINEAGE_HINTS,
}
REJECTED_HINTS = {
    "entity": {"data_type": "text", "nullable": False},
    "error": {"data_type": "text", "nullable": False, "description": "why the line is not a resource"},
    "raw_line": {"data_type": "text", "nullable": False, "description": "the line exactly as received"},
    **_LINEAGE_HINTS,
}
LOG_HINTS = {**FILE_LOG_HINTS, **{k: v for k, v in _LINEAGE_HINTS.items() if k != "line_number"}}


def bronze_table(entity: str) -> str:
    return f"{SOURCE_NAME}__{entity}"


def _lineage_values(lineage: FileLineage) -> dict[str, str]:
    return {
        "ehr_system": lineage.ehr_system,
        "tenant": lineage.tenant,
        "environment": lineage.environment,
        "batch_id": lineage.batch_id,
        "source_file": lineage.source_file,
    }


def _constant_columns(lineage: FileLineage, ingested_at: datetime, rows: int) -> dict[str, pa.Array]:
    """Lineage is the same for every line of a file: build it as repeated Arrow values."""
    return repeated_columns(_lineage_values(lineage), ingested_at, rows)


def _resource_table(text: pa.Array, lines: np.ndarray, lineage: FileLineage, at: datetime) -> pa.Table:
    return pa.table(
        {
            "resource": text,
            **_constant_columns(lineage, at, len(text)),
            "line_number": pa.array(lines, pa.int64()),
        }
    )


def _rejected_table(rejected: list[tuple[int, str, str]], lineage: FileLineage, at: datetime) -> pa.Table:
    line_numbers, errors, raw_lines = zip(*rejected, strict=True)
    return pa.table(
        {
            "entity": pa.array([lineage.entity] * len(rejected), pa.string()),
            "error": pa.array(errors, pa.string()),
            "raw_line": pa.array(raw_lines, pa.string()),
            **_constant_columns(lineage, at, len(rejected)),
            "line_number": pa.array(line_numbers, pa.int64()),
        }
    )


_READ_BLOCK_BYTES = 32 << 20  # read whole lines in ~32 MB blocks: bounded memory, few syscalls
_NUL_ESCAPE = b"\\u0000"
# byte patterns the fast path leaves to orjson: a CR (line ends are stripped of it one by one),
# a \u0000 escape (jsonb cannot store it) and NaN / Infinity (Arrow's parser takes them, JSON does not)
_SLOW_PATH_MARKERS = (b"\r", _NUL_ESCAPE, b"NaN", b"Infinity")
_JSON_PARSE = pajson.ParseOptions(explicit_schema=pa.schema([]), unexpected_field_behavior="ignore")
_JSON_READ = pajson.ReadOptions(use_threads=True, block_size=4 << 20)
_OPEN, _CLOSE = ord("{"), ord("}")


def _line_blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines (the last one may lack its line break),
    without the byte-order mark."""
    rest = b""
    with path.open("rb") as handle:
        first = True
        while data := handle.read(_READ_BLOCK_BYTES):
            if first:
                data, first = strip_bom(data), False
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield data[:cut]
    if rest:
        yield rest


def _valid_objects(block: bytes) -> pa.Array | None:
    """Every line of ``block`` as a string array when each one is a JSON object jsonb can store,
    checked in bulk by Arrow's JSON parser; ``None`` when any line needs a closer look."""
    if any(marker in block for marker in _SLOW_PATH_MARKERS):
        return None
    data = np.frombuffer(block, np.uint8)
    newlines = np.flatnonzero(data == 10)
    ends = newlines if block.endswith(b"\n") else np.append(newlines, len(block))
    starts = np.concatenate(([0], newlines[: len(ends) - 1] + 1))
    # each line opens and closes one object (no blank lines, no surrounding space), so a line
    # is one row of Arrow's reader, and the row count tells a line holding two objects apart
    if (ends <= starts).any() or (data[starts] != _OPEN).any() or (data[ends - 1] != _CLOSE).any():
        return None
    try:
        parsed = pajson.read_json(pa.BufferReader(block), read_options=_JSON_READ, parse_options=_JSON_PARSE)
    except pa.ArrowInvalid:
        return None
    if parsed.num_rows != len(starts):
        return None
    # the lines without their line breaks, back to back, and where each one starts
    offsets = np.append(starts - np.arange(len(starts)), len(data) - len(newlines)).astype(np.int64)
    text = pa.LargeStringArray.from_buffers(
        len(starts), pa.py_buffer(offsets), pa.py_buffer(data[data != 10].tobytes())
    )
    try:
        text.validate(full=True)  # UTF-8, which Arrow's JSON parser does not check
    except pa.ArrowInvalid:
        return None
    return text.cast(pa.string())


def _classified_lines(
    block: bytes, first_line: int, rejected: list[tuple[int, str, str]]
) -> tuple[pa.Array, np.ndarray]:
    """The storable lines of ``block`` and their line numbers, one by one with orjson; the
    others go to ``rejected`` with the reason."""
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    resources: list[bytes] = []
    lines: list[int] = []
    pieces = block.split(b"\n")
    if block.endswith(b"\n"):
        pieces.pop()
    for line_number, piece in enumerate(pieces, first_line):
        raw = piece.rstrip(b"\r\n")
        try:
            is_object = type(loads(raw)) is dict
        except decode_error:
            is_object = False
        if is_object and _NUL_ESCAPE not in raw:
            resources.append(raw)
            lines.append(line_number)
        else:
            _, reason = classify_line(raw)
            rejected.append((line_number, reason or "unknown", raw.decode("utf-8", errors="replace")))
    # orjson accepted every one of these lines, so each is valid UTF-8: view the bytes as
    # strings instead of decoding them one by one in Python.
    return pa.array(resources, pa.binary()).view(pa.string()), np.array(lines, np.int64)


def read_landing_file(
    path: Path, landing_root: Path, ingested_at: datetime, batch_rows: int = ARROW_BATCH_ROWS
) -> Iterator[tuple[str, pa.Table]]:
    """Yield ("resource" | "rejected" | "file_log", arrow table) batches for one NDJSON file; the
    file's log row (line and row counts) comes last.

    Every line is checked, without touching it in Python: a block of lines where each is a JSON
    object goes through Arrow's JSON parser in one call; a block where that does not hold is
    read line by line with orjson, so each bad line is rejected with its reason and the good
    ones still land.
    """
    lineage = FileLineage.of(path, landing_root)
    rejected: list[tuple[int, str, str]] = []
    line_count = loaded = 0
    for block in _line_blocks(path):
        text = _valid_objects(block)
        if text is not None:
            numbers = np.arange(line_count + 1, line_count + len(text) + 1, dtype=np.int64)
            line_count += len(text)
        else:
            text, numbers = _classified_lines(block, line_count + 1, rejected)
            line_count += block.count(b"\n") + (not block.endswith(b"\n"))
        for start in range(0, len(text), batch_rows):
            part = text.slice(start, batch_rows)
            yield "resource", _resource_table(part, numbers[start : start + batch_rows], lineage, ingested_at)
        loaded += len(text)
    if rejected:
        yield "rejected", _rejected_table(rejected, lineage, ingested_at)
    values, counts = _lineage_values(lineage), (line_count, loaded, len(rejected))
    yield "file_log", file_log_table(values, lineage.entity, *counts, ingested_at)


def files_already_in_bronze(settings: Settings, entity: str) -> set[str]:
    """Source files of this entity whose load into bronze completed (the file log says so)."""
    return committed_source_files(settings, FILE_LOG_TABLE, sql.SQL("t.entity = %s"), (entity,))


def ehr_scope(settings: Settings, entity: str, registry: EhrRegistry | None = None) -> LandingScope:
    """The batch folders of one FHIR resource type of every registered EHR system:
    ``<system>/<entity>/<batch>``."""
    registry = registry or load_ehr_registry()
    base = settings.landing_dir / settings.tenant / settings.environment
    folders = sorted(f for system in registry.names for f in batch_folders(base, f"{system}/{entity}/*"))
    return LandingScope("ehr", tuple(folders), lambda path: path.match(DATA_FILE_PATTERN))


def new_landing_files(settings: Settings, entity: str, registry: EhrRegistry | None = None) -> list[Path]:
    """Verified landing files of this entity, all registered systems, that bronze does not hold yet."""
    loaded = files_already_in_bronze(settings, entity)
    outcomes = verify_scope(settings, ehr_scope(settings, entity, registry), loaded)
    return loadable_files(outcomes, settings.landing_dir, loaded)


# An entity folder becomes the table bronze.ehr__<entity>: lower-case letters only (the
# lower-case FHIR resource type), within Postgres' 63-byte identifier limit.
_ENTITY_NAME = re.compile(r"^[a-z]{1,58}$")


@dataclass(frozen=True)
class EhrLanding:
    """What the EHR part of the landing zone holds beyond the modeled types."""

    other_entities: tuple[str, ...]  # unmodeled resource types of registered systems, loadable
    # landing folders (``system`` or ``system/entity``) no loader reads, with why: names and counts only
    unloadable: dict[str, str]


def _ndjson_files(folder: Path, pattern: str) -> int:
    return sum(1 for path in folder.glob(pattern) if path.is_file() and not path.name.startswith("."))


def scan_ehr_landing(settings: Settings, registry: EhrRegistry | None = None) -> EhrLanding:
    """Unmodeled entity folders of registered systems, and the EHR folders that cannot load:
    a system the registry does not list, or an entity folder that is no safe table name."""
    registry = registry or load_ehr_registry()
    base = settings.landing_dir / settings.tenant / settings.environment
    others: set[str] = set()
    unloadable: dict[str, str] = {}
    systems = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    for system_dir in systems:
        system = system_dir.name
        if system.startswith(".") or system in RESERVED_NAMES:
            continue
        if system not in registry:
            # other loaders' folders hold CSV (feeds) or are reserved (adt): NDJSON here is an EHR's
            files = _ndjson_files(system_dir, f"*/*/{DATA_FILE_PATTERN}")
            if files:
                unloadable[system] = (
                    f"{files} NDJSON file(s): system {system!r} is not in the EHR registry"
                    f" {registry.source}: add an entry"
                )
            continue
        for entity_dir in sorted(p for p in system_dir.iterdir() if p.is_dir()):
            entity = entity_dir.name
            if entity in ENTITIES or entity.startswith("."):
                continue
            if _ENTITY_NAME.match(entity):
                others.add(entity)
            elif files := _ndjson_files(entity_dir, f"*/{DATA_FILE_PATTERN}"):
                unloadable[f"{system}/{entity}"] = (
                    f"{files} NDJSON file(s): {entity!r} is not a resource type folder name"
                    " (lower-case letters only, e.g. allergyintolerance)"
                )
    return EhrLanding(tuple(sorted(others)), unloadable)


def unmodeled_tables(settings: Settings) -> dict[str, int]:
    """Rows of every ``bronze.ehr__<entity>`` table whose type silver does not model yet."""
    with connect(settings) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s"
                " and table_name like 'ehr\\_\\_%%' order by table_name",
                (BRONZE_SCHEMA,),
            )
        ]
        modeled = {bronze_table(entity) for entity in ENTITIES} | {
            SYSTEMS_TABLE,
            FILE_LOG_TABLE,
            REJECTED_TABLE,
        }
        counts: dict[str, int] = {}
        for name in names:
            if name in modeled or not _ENTITY_NAME.match(name.removeprefix(f"{SOURCE_NAME}__")):
                continue
            query = sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(BRONZE_SCHEMA), sql.Identifier(name)
            )
            counts[name] = conn.execute(query).fetchone()[0]
    return counts


_LINE_KEY = ("source_file", "line_number")


def _route(kind: str, entity: str) -> tuple[str, dict[str, dict[str, object]], tuple[str, ...]]:
    """Table, column hints and primary key of each kind of item a file yields."""
    if kind == "rejected":
        return REJECTED_TABLE, REJECTED_HINTS, _LINE_KEY
    if kind == "file_log":
        return FILE_LOG_TABLE, LOG_HINTS, ("source_file",)
    return bronze_table(entity), RESOURCE_HINTS, _LINE_KEY


def _hinted(table: pa.Table, kind: str, entity: str) -> object:
    # hints travel with the rows (not the decorator) so the rejected-line and file log table
    # variants do not inherit the resource column
    name, hints, key = _route(kind, entity)
    return dlt.mark.with_hints(
        table,
        dlt.mark.make_hints(table_name=name, write_disposition="append", columns=hints, primary_key=key),
        create_table_variant=True,
    )


# one value per landing file: rendered once per file in the CSV dlt loads
_CONSTANT_COLUMNS = ("ehr_system", "tenant", "environment", "batch_id", "source_file", "ingested_at")


def _import_hints(entity: str) -> Callable[[pa.Schema], dict[str, object]]:
    name, hints, key = _route("resource", entity)
    columns = {**hints, LOAD_ID_COLUMN: LOAD_ID_HINT}
    return lambda _: dlt.mark.make_hints(
        table_name=name, write_disposition="append", columns=columns, primary_key=list(key)
    )


def _load_files(
    entity: str, files: list[Path], settings: Settings, on_file: Callable[[str, Path], None] | None
) -> Iterator[object]:
    """The files' resource rows as CSV files dlt imports as they are (``COPY``), every file's
    rejected lines and log row as Arrow tables, all in the same load."""
    ingested_at = datetime.now(UTC)
    log.info("ehr %s: %d new landing file(s)", entity, len(files))
    others: list[object] = []

    def resource_tables() -> Iterator[pa.Table]:
        for path in files:
            for kind, table in read_landing_file(path, settings.landing_dir, ingested_at):
                if kind == "resource":
                    yield table
                else:
                    others.append(_hinted(table, kind, entity))
            if on_file is not None:
                on_file(entity, path)

    for item in csv_imports(resource_tables(), _import_hints(entity), _CONSTANT_COLUMNS):
        yield item
        yield from others
        others.clear()
    yield from others


_ROUTED = [(REJECTED_TABLE, REJECTED_HINTS, _LINE_KEY), (FILE_LOG_TABLE, LOG_HINTS, ("source_file",))]
RegistryFactory = Callable[[], EhrRegistry]


def _entity_resource(
    entity: str,
    settings_factory: Callable[[], Settings],
    registry_factory: RegistryFactory,
    on_file: Callable[[str, Path], None] | None,
) -> DltResource:
    def load_entity() -> Iterator[object]:
        settings = settings_factory()
        files = new_landing_files(settings, entity, registry_factory())
        if not files:
            # the table exists from the first load on, even before a source sends this type:
            # silver reads every modeled type, and a source that never sends, say, Immunization
            # is normal. An empty Arrow table gives it the same columns as a loaded file.
            nowhere = FileLineage("", "", "", "", entity, "")
            empty = _resource_table(
                pa.array([], pa.string()), np.array([], np.int64), nowhere, datetime.now(UTC)
            )
            yield _hinted(empty, "resource", entity)
        yield from _load_files(entity, files, settings, on_file)

    load_entity.__doc__ = f"New {entity} NDJSON lines from the EHR landing zone, raw, with lineage."
    resource = dlt.resource(
        load_entity, name=bronze_table(entity), write_disposition="append", primary_key=_LINE_KEY
    )
    return declare_tables(
        resource,
        description=f"{DESCRIPTIONS[entity]} Raw NDJSON lines as jsonb, with landing lineage.",
        columns=RESOURCE_HINTS,
        routed=_ROUTED,
    )


def _other_resources(
    settings_factory: Callable[[], Settings],
    registry_factory: RegistryFactory,
    on_file: Callable[[str, Path], None] | None,
) -> DltResource:
    """One resource for every resource type silver does not model yet: each lands in its own
    ``bronze.ehr__<entity>`` (created with its first rows), with the modeled types' columns."""

    def load_others() -> Iterator[object]:
        settings, registry = settings_factory(), registry_factory()
        for entity in scan_ehr_landing(settings, registry).other_entities:
            yield from _load_files(entity, new_landing_files(settings, entity, registry), settings, on_file)

    load_others.__doc__ = "New NDJSON lines of resource types silver does not model yet, raw, with lineage."
    resource = dlt.resource(
        load_others, name=OTHER_RESOURCES, write_disposition="append", primary_key=_LINE_KEY
    )
    return declare_tables(
        resource,
        description=(
            "FHIR resources of every type silver does not model yet (Device, DocumentReference, an"
            " export's OperationOutcome errors, ...): each type in its own table bronze.ehr__<type>,"
            " created on first sight, raw NDJSON lines as jsonb with landing lineage."
        ),
        columns=RESOURCE_HINTS,
        routed=_ROUTED,
    )


SYSTEMS_HINTS: dict[str, dict[str, object]] = {
    "name": {"data_type": "text", "nullable": False, "description": "the system's name (ehr_system)"},
    "arrives": {
        "data_type": "text",
        "nullable": False,
        "description": "landing_files | fhir_api | bulk_export",
    },
    "description": {"data_type": "text", "nullable": False},
    "code_systems": {
        "data_type": "json",
        "nullable": False,
        "description": "per resource type, the code system URIs its codes use",
    },
}


def registry_resource(registry_factory: RegistryFactory = load_ehr_registry) -> DltResource:
    """``bronze.ehr__systems``: the EHR registry as a table, replaced by every EHR load, so dbt
    checks ``ehr_system`` against the systems carehouse loads (no list in SQL)."""

    def systems() -> Iterator[pa.Table]:
        registry = registry_factory()
        yield pa.table(
            {
                "name": pa.array(registry.names, pa.string()),
                "arrives": pa.array([s.arrives for s in registry.systems], pa.string()),
                "description": pa.array([s.description for s in registry.systems], pa.string()),
                "code_systems": pa.array(
                    [orjson.dumps(s.code_systems).decode() for s in registry.systems], pa.string()
                ),
            }
        )

    systems.__doc__ = "The EHR registry (ingestion/ehr_systems.yaml), one row per system."
    resource = dlt.resource(systems, name=SYSTEMS_TABLE, write_disposition="replace", primary_key="name")
    return declare_tables(
        resource,
        description=(
            "The EHR registry (ingestion/ehr_systems.yaml or CAREHOUSE_EHR_REGISTRY): one row per EHR"
            " system carehouse loads, with how it arrives and its code systems; replaced by every load."
        ),
        columns=SYSTEMS_HINTS,
    )


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def ehr_bronze_source(
    settings_factory: Callable[[], Settings] = get_settings,
    on_file: Callable[[str, Path], None] | None = None,
    registry_factory: RegistryFactory = load_ehr_registry,
) -> list[DltResource]:
    """Every FHIR resource type of every registered EHR system, and the registry itself;
    settings and the registry are read when the load runs."""
    return [
        *(_entity_resource(entity, settings_factory, registry_factory, on_file) for entity in ENTITIES),
        _other_resources(settings_factory, registry_factory, on_file),
        registry_resource(registry_factory),
    ]
