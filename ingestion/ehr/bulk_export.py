"""Staging a FHIR Bulk Data export as landing batches, so that it loads like any EHR batch.

An export folder is what a Bulk Data server delivers (https://hl7.org/fhir/uv/bulkdata/): one or
more NDJSON files per resource type, ``<ResourceType>.<n>.ndjson`` or ``.ndjson.gz``, and, when
the client kept it, the ``$export`` completion manifest: a JSON document with ``transactionTime``,
``request``, ``output[]`` (``type``, ``url``, optional ``count``) and ``error[]``
(OperationOutcome NDJSON files). An entry's local file is the basename of its ``url`` path.

Each type becomes one landing batch ``{system}/{entity}/{batch_id}/`` (entity = lower-case
type, ``error[]`` files under ``operationoutcome``), batch id = the export's ``transactionTime``
in UTC (``%Y%m%dT%H%M%SZ``). Without a completion manifest the transaction time is unknown: the
newest file's modification time stands in, and the batch records that it was inferred. ``.gz``
files are decompressed while they are copied (streaming, bounded memory).

The completion manifest is checked before anything counts as staged: every listed file present
with its ``count`` of lines, no NDJSON file that it does not list. Each batch's landing manifest
(``ingestion.landing``: lines, size, SHA-256 of every file) is written last, with the export's
facts (transaction time, request, original names and checksums, and a fingerprint of them), so:
staging the same export again finds its batches complete with the same fingerprint and does
nothing; a crash mid-staging leaves batches without a manifest, which no loader reads and the
next staging rewrites.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

from ingestion.ehr.registry import load_ehr_registry
from ingestion.landing import (
    LANDING_MANIFEST,
    batch_dir,
    is_complete,
    read_manifest,
    temp_path_for,
    write_manifest,
)
from warehouse.settings import Settings

BATCH_ID_FORMAT = "%Y%m%dT%H%M%SZ"
MANIFEST_KIND = "fhir_bulk_export"
ERROR_TYPE = "OperationOutcome"
# <ResourceType>[.<anything>].ndjson[.gz]: the type is the name's first part
_EXPORT_FILE = re.compile(r"^(?P<type>[A-Z][A-Za-z]*)(?:\..+)?\.ndjson(?P<gz>\.gz)?$")
_ENTITY = re.compile(r"^[a-z]{1,58}$")
_CHUNK = 8 << 20


class BulkExportError(ValueError):
    """The folder is not a usable Bulk Data export; one line, file names and counts only."""


@dataclass(frozen=True)
class ExportFile:
    """One NDJSON file of the export."""

    path: Path
    resource_type: str
    count: int | None = None  # lines the completion manifest announces, when it does

    @property
    def entity(self) -> str:
        return self.resource_type.lower()

    @property
    def staged_name(self) -> str:
        """Its name in the landing batch: the loader reads ``*.ndjson``."""
        return self.path.name.removesuffix(".gz")


@dataclass(frozen=True)
class StagedExport:
    """What :func:`stage_bulk_export` did."""

    system: str
    batch_id: str
    transaction_time: str  # ISO 8601, UTC
    transaction_time_inferred: bool  # no completion manifest: the newest file's mtime
    lines_by_entity: dict[str, int]
    folders: tuple[Path, ...]  # the landing batch folders, one per entity
    already_staged: bool  # every batch was complete with this export's fingerprint: nothing written
    request: str | None = None
    staged_entities: tuple[str, ...] = field(default=())  # entities written by this call


def stage_bulk_export(settings: Settings, export_dir: Path, system: str) -> StagedExport:
    """Stage the export in ``export_dir`` as landing batches of ``system`` (see the module
    docstring). Raises ``UnknownEhrSystem`` for a system the EHR registry does not list and
    :class:`BulkExportError` for a folder that is no usable export."""
    load_ehr_registry().get(system)  # one line naming the registry when the system is not there
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise BulkExportError(
            f"{export_dir} is not a folder: give the folder a Bulk Data export was saved in"
        )
    manifest = _completion_manifest(export_dir)
    if manifest is None:
        files = _files_without_manifest(export_dir)
        moment = max(datetime.fromtimestamp(f.path.stat().st_mtime, UTC) for f in files)
        request = None
    else:
        files = _files_of_manifest(export_dir, manifest)
        moment = _transaction_time(manifest["transactionTime"], export_dir)
        request = manifest.get("request") if isinstance(manifest.get("request"), str) else None
    for export_file in files:
        if not _ENTITY.match(export_file.entity):
            raise BulkExportError(
                f"{export_file.path.name}: resource type {export_file.resource_type!r} is too long"
            )
    sources = {f.path.name: _source_facts(f.path) for f in files}
    fingerprint = hashlib.sha256(
        json.dumps({name: facts["sha256"] for name, facts in sorted(sources.items())}).encode()
    ).hexdigest()
    inferred = manifest is None
    earlier = _earlier_staging(settings, system, sorted({f.entity for f in files}), fingerprint)
    if earlier is not None:
        # the same files staged before, e.g. downloaded again without a manifest (a new mtime):
        # complete that staging instead of landing the export a second time
        moment = _transaction_time(earlier["transactionTime"], export_dir)
        inferred = bool(earlier.get("transaction_time_inferred"))
        request = earlier.get("request") if isinstance(earlier.get("request"), str) else request
    batch_id = moment.strftime(BATCH_ID_FORMAT)
    by_entity: dict[str, list[ExportFile]] = {}
    for export_file in files:
        by_entity.setdefault(export_file.entity, []).append(export_file)
    export_facts = {
        "transactionTime": moment.isoformat().replace("+00:00", "Z"),
        "transaction_time_inferred": inferred,
        "request": request,
        "fingerprint": fingerprint,
    }
    folders: list[Path] = []
    lines: dict[str, int] = {}
    pending: dict[str, tuple[Path, dict[str, Any]]] = {}
    created: list[Path] = []
    try:
        for entity, entity_files in sorted(by_entity.items()):
            folder = batch_dir(
                settings.landing_dir, settings.tenant, settings.environment, system, entity, batch_id
            )
            folders.append(folder)
            if is_complete(folder):
                lines[entity] = _already_staged(folder, fingerprint, system, entity, batch_id)
                continue
            _clear_unfinished(folder)
            created.append(folder)
            lines[entity], originals = _copy_entity(folder, entity_files, sources)
            pending[entity] = (folder, originals)
    except BulkExportError:
        for folder in created:  # nothing of a bad export stays behind
            shutil.rmtree(folder, ignore_errors=True)
        raise
    # every file is in place and checked: only now does any batch become visible to loaders
    for folder, originals in pending.values():
        extra = {"kind": MANIFEST_KIND, "export": {**export_facts, "source_files": originals}}
        write_manifest(folder, [o["staged_as"] for o in originals.values()], extra)
    written = list(pending)
    return StagedExport(
        system=system,
        batch_id=batch_id,
        transaction_time=export_facts["transactionTime"],
        transaction_time_inferred=inferred,
        lines_by_entity=lines,
        folders=tuple(folders),
        already_staged=not written,
        request=request,
        staged_entities=tuple(written),
    )


# -- reading the export --------------------------------------------------------------------------
def _completion_manifest(export_dir: Path) -> dict[str, Any] | None:
    """The ``$export`` completion manifest among the folder's JSON files, if there is one."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(export_dir.glob("*.json")):
        try:
            document = json.loads(path.read_bytes())
        except (ValueError, OSError):
            if path.name == "manifest.json":
                raise BulkExportError(f"{path.name}: not valid JSON, so not a completion manifest") from None
            continue
        if isinstance(document, dict) and "transactionTime" in document and "output" in document:
            found.append((path, document))
    if len(found) > 1:
        names = ", ".join(path.name for path, _ in found)
        raise BulkExportError(f"{export_dir}: more than one completion manifest ({names})")
    return found[0][1] if found else None


def _ndjson_files(export_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in export_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.endswith((".ndjson", ".ndjson.gz"))
    )


def _files_without_manifest(export_dir: Path) -> list[ExportFile]:
    paths = _ndjson_files(export_dir)
    if not paths:
        raise BulkExportError(
            f"{export_dir} holds no NDJSON files (<ResourceType>.<n>.ndjson or .ndjson.gz):"
            " not a Bulk Data export"
        )
    files = []
    for path in paths:
        match = _EXPORT_FILE.match(path.name)
        if match is None:
            raise BulkExportError(
                f"{path.name}: not named <ResourceType>.<n>.ndjson[.gz], and no completion manifest"
                " gives its type"
            )
        files.append(ExportFile(path, match["type"]))
    return files


def _files_of_manifest(export_dir: Path, manifest: dict[str, Any]) -> list[ExportFile]:
    files: list[ExportFile] = []
    for key in ("output", "error"):
        entries = manifest.get(key) or []
        if not isinstance(entries, list):
            raise BulkExportError(f"completion manifest: {key} is not a list")
        for index, entry in enumerate(entries):
            files.append(_manifest_file(export_dir, entry, f"completion manifest: {key}[{index}]", key))
    names = [f.path.name for f in files]
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise BulkExportError(f"completion manifest: {', '.join(twice)} listed more than once")
    unlisted = [p.name for p in _ndjson_files(export_dir) if p.name not in set(names)]
    if unlisted:
        raise BulkExportError(
            f"{', '.join(unlisted)}: in the export folder but not in its completion manifest (not staged)"
        )
    if not files:
        raise BulkExportError(f"{export_dir}: the completion manifest lists no files: nothing to stage")
    return files


def _manifest_file(export_dir: Path, entry: Any, where: str, key: str) -> ExportFile:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise BulkExportError(f"{where}: expected an object with a url")
    resource_type = ERROR_TYPE if key == "error" else entry.get("type")
    if not isinstance(resource_type, str) or not re.match(r"^[A-Z][A-Za-z]*$", resource_type):
        raise BulkExportError(f"{where}: type {resource_type!r} is not a FHIR resource type")
    name = PurePosixPath(urlsplit(entry["url"]).path).name
    path = export_dir / name
    if not name or not path.is_file():
        raise BulkExportError(f"{where}: its file {name or entry['url']!r} is not in the export folder")
    count = entry.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise BulkExportError(f"{where}: count {count!r} is not a number of resources")
    return ExportFile(path, resource_type, count)


def _transaction_time(value: Any, export_dir: Path) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BulkExportError(f"completion manifest: transactionTime {value!r} is not an instant") from None
    if moment.tzinfo is None:
        raise BulkExportError(f"completion manifest: transactionTime {value!r} has no time zone")
    return moment.astimezone(UTC)


def _source_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


# -- writing the landing batches -------------------------------------------------------------------
def _already_staged(folder: Path, fingerprint: str, system: str, entity: str, batch_id: str) -> int:
    """Lines of a complete batch that holds this very export; any other batch there is an error
    (landing batches are append-only: a different export at the same instant is not merged)."""
    manifest = read_manifest(folder)
    staged = manifest.get("export") or {}
    if not isinstance(staged, dict) or staged.get("fingerprint") != fingerprint:
        raise BulkExportError(
            f"landing batch {system}/{entity}/{batch_id} already holds other data: this export is not"
            " staged (a different export with the same transaction time?)"
        )
    return int(manifest.get("lines") or 0)


def _earlier_staging(
    settings: Settings, system: str, entities: list[str], fingerprint: str
) -> dict[str, Any] | None:
    """The export facts of a complete batch of ``system`` that holds these very files, if any."""
    base = settings.landing_dir / settings.tenant / settings.environment / system
    for entity in entities:
        for path in sorted(base.glob(f"{entity}/*/{LANDING_MANIFEST}"), reverse=True):
            try:
                export = json.loads(path.read_bytes()).get("export")
            except (ValueError, OSError, AttributeError):
                continue  # not this loader's to judge: verification reports broken manifests
            if isinstance(export, dict) and export.get("fingerprint") == fingerprint:
                return export
    return None


def _clear_unfinished(folder: Path) -> None:
    """A batch folder without a manifest is what a crashed staging left: start it afresh."""
    if folder.is_dir():
        shutil.rmtree(folder)


def _copy_entity(
    folder: Path, files: list[ExportFile], sources: dict[str, dict[str, Any]]
) -> tuple[int, dict[str, Any]]:
    """Copy one type's files into its batch folder (no manifest yet), checking the announced
    counts; returns the lines and what the landing manifest records of each original file."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f.staged_name for f in files]
    if len(set(names)) != len(names):
        raise BulkExportError(f"{', '.join(names)}: two export files would stage under one name")
    originals: dict[str, Any] = {}
    total = 0
    for export_file in files:
        lines = _copy_lines(export_file.path, folder / export_file.staged_name)
        if export_file.count is not None and lines != export_file.count:
            raise BulkExportError(
                f"{export_file.path.name}: the completion manifest announces {export_file.count} resources,"
                f" the file has {lines} lines: the export is not staged"
            )
        originals[export_file.path.name] = {
            **sources[export_file.path.name],
            "type": export_file.resource_type,
            "lines": lines,
            "staged_as": export_file.staged_name,
            **({"count": export_file.count} if export_file.count is not None else {}),
        }
        total += lines
    return total, originals


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(_CHUNK):
        yield chunk


def _copy_lines(source: Path, target: Path) -> int:
    """Copy (decompressing ``.gz``) through a temp file and a rename; returns the line count as
    ``ingestion.landing.file_facts`` counts lines."""
    temp = temp_path_for(target)
    lines = size = 0
    last = b""
    try:
        with _open(source) as reader, temp.open("wb") as writer:
            for chunk in _chunks(reader):
                writer.write(chunk)
                lines += chunk.count(b"\n")
                size += len(chunk)
                last = chunk[-1:]
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        temp.unlink(missing_ok=True)
        raise BulkExportError(f"{source.name}: cannot be read ({type(exc).__name__})") from None
    temp.replace(target)
    return lines + (1 if size and last != b"\n" else 0)
