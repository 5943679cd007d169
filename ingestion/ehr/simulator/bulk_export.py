"""A third hospital's EHR as a FHIR Bulk Data server delivers it: a completed ``$export``.

``write_bulk_export`` renders the hospital's own population with the simulator's building
blocks (patients, visits, charts, clinical resources: the initial history on ``start_date``,
then one day of activity per day up to ``export_date``), keeps the latest version of every
resource, restyles it as US Core (``us_core``), adds the types carehouse does not model
(Device, DocumentReference), and writes the export folder: ``<Type>.000.ndjson`` (or
``.ndjson.gz``) per type, an ``OperationOutcome.000.ndjson`` error file and the completion
manifest ``manifest.json`` (``transactionTime``, ``request``, ``requiresAccessToken``,
``output[]`` and ``error[]`` with ``type``/``url``/``count``; a url's basename is the local file).
A server export is clean JSON: no malformed lines. ``since`` makes the incremental export a
``_since`` kick-off returns: only resources changed after that instant.

The population is held in memory while rendering (an export sized for tests and demos: a few
thousand patients), unlike the landing-zone simulator which streams.
"""

from __future__ import annotations

import gzip as gzip_module
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.ehr.resources import ENTITIES, RESOURCE_TYPES
from ingestion.ehr.simulator.clock import extract_cutoff
from ingestion.ehr.simulator.export_extras import devices, document_references, operation_outcomes
from ingestion.ehr.simulator.fhir import Resource
from ingestion.ehr.simulator.incremental import write_incremental
from ingestion.ehr.simulator.initial import write_initial
from ingestion.ehr.simulator.us_core import UsCoreStyle
from ingestion.ehr.simulator.writer import EntityBatchWriter
from ingestion.landing import temp_path_for

EXPORT_SYSTEMS = ("cerner",)
MANIFEST_NAME = "manifest.json"
DEFAULT_BASE_URL = "https://fhir.cerner.example.org/r4"
FILE_LINES = 100_000  # servers split large types into numbered files
UNMODELED_TYPES = ("Device", "DocumentReference")
# What the server says it skipped (its error file): a type it does not export.
SKIPPED_TYPE = "Provenance"
MAX_EXPORT_DAYS = 400
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


class _Collector(EntityBatchWriter):
    """A writer that keeps the latest version of each resource instead of writing lines."""

    def __init__(self, entity: str) -> None:
        super().__init__(Path("."), entity, defects=None, dry=True)
        self.latest: dict[str, Resource] = {}

    def write(self, resource: dict[str, Any], *, resend: bool = False) -> None:
        self.latest[resource["id"]] = resource  # versions arrive oldest first


@dataclass(frozen=True)
class BulkExportResult:
    folder: Path
    manifest: Path
    transaction_time: datetime
    counts: dict[str, int]  # resource type -> lines written (output files only)
    files: list[Path]  # output and error files
    errors: int  # OperationOutcome lines


def transaction_time_of(export_date: date) -> datetime:
    """The export's ``transactionTime``: the end of ``export_date`` at the hospital (UTC)."""
    return extract_cutoff(export_date).astimezone(UTC)


def instant_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_bulk_export(
    out_dir: Path,
    *,
    export_date: date,
    system: str = "cerner",
    patients: int = 500,
    seed: int = 42,
    start_date: date | None = None,
    since: datetime | None = None,
    gzip: bool = False,
    base_url: str = DEFAULT_BASE_URL,
) -> BulkExportResult:
    """Write the completed export of ``export_date`` into ``out_dir`` (created; must hold no export).

    ``start_date`` (default ``export_date``) is when the hospital's history extract was taken;
    days after it add daily activity. The same arguments give byte-identical files. ``since``
    (aware) keeps only resources whose ``meta.lastUpdated`` is after it; for the export that
    follows an earlier one, pass the same ``start_date`` and the earlier ``transactionTime``.
    """
    _check(out_dir, system, patients, export_date, start_date, since)
    first = start_date or export_date
    collectors = {entity: _Collector(entity) for entity in ENTITIES}
    writers: dict[str, EntityBatchWriter] = dict(collectors)
    state = write_initial(system, seed, first, patients, writers)
    day = first
    while day < export_date:
        day += timedelta(days=1)
        state = write_incremental(system, seed, day, state, writers)
    style = UsCoreStyle(system, seed, state.practitioners)
    by_type: dict[str, list[Resource]] = {}
    for entity in ENTITIES:
        converted = [style.convert(r) for r in collectors[entity].latest.values()]
        by_type[RESOURCE_TYPES[entity]] = converted
    by_type["Device"] = devices(style.uuid, seed, by_type["Condition"])
    by_type["DocumentReference"] = document_references(style.uuid, seed, by_type["Encounter"])
    if since is not None:
        by_type = {t: [r for r in rs if _changed_after(r, since)] for t, rs in by_type.items()}
    return _write_folder(out_dir, by_type, transaction_time_of(export_date), since, gzip, base_url)


def _check(
    out_dir: Path,
    system: str,
    patients: int,
    export_date: date,
    start_date: date | None,
    since: datetime | None,
) -> None:
    if system not in EXPORT_SYSTEMS:
        raise ValueError(
            f"no bulk export simulator for EHR system {system!r} (known: {', '.join(EXPORT_SYSTEMS)})"
        )
    if patients < 1:
        raise ValueError("an export needs at least one patient")
    if start_date is not None and not start_date <= export_date <= start_date + timedelta(
        days=MAX_EXPORT_DAYS
    ):
        raise ValueError(f"the export date must be 0 to {MAX_EXPORT_DAYS} days after the start date")
    if since is not None and since.tzinfo is None:
        raise ValueError("since must be an instant with a time zone")
    if (out_dir / MANIFEST_NAME).exists() or any(out_dir.glob("*.ndjson*")):
        raise ValueError(f"{out_dir} already holds an export; choose an empty folder")


def _changed_after(resource: Resource, since: datetime) -> bool:
    return datetime.fromisoformat(resource["meta"]["lastUpdated"]) > since


def _write_folder(
    out_dir: Path,
    by_type: dict[str, list[Resource]],
    transaction_time: datetime,
    since: datetime | None,
    gzip: bool,
    base_url: str,
) -> BulkExportResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".ndjson.gz" if gzip else ".ndjson"
    output: list[dict[str, Any]] = []
    files: list[Path] = []
    counts: dict[str, int] = {}
    for resource_type in sorted(by_type):
        resources = by_type[resource_type]
        counts[resource_type] = len(resources)
        for part, start in enumerate(range(0, len(resources), FILE_LINES)):
            chunk = resources[start : start + FILE_LINES]
            path = _write_ndjson(out_dir / f"{resource_type}.{part:03d}{suffix}", chunk, gzip)
            files.append(path)
            output.append({"type": resource_type, "url": f"{base_url}/bulk/{path.name}", "count": len(chunk)})
    omitted = "DocumentReference" if by_type.get("DocumentReference") else "Observation"
    outcomes = operation_outcomes(omitted, SKIPPED_TYPE)
    error_path = _write_ndjson(out_dir / f"OperationOutcome.000{suffix}", outcomes, gzip)
    files.append(error_path)
    types = ",".join(sorted({*by_type, SKIPPED_TYPE}))
    request = f"{base_url}/$export?_type={types}"
    if since is not None:
        request += f"&_since={instant_text(since)}"
    manifest = {
        "transactionTime": instant_text(transaction_time),
        "request": request,
        "requiresAccessToken": True,
        "output": output,
        "error": [
            {"type": "OperationOutcome", "url": f"{base_url}/bulk/{error_path.name}", "count": len(outcomes)}
        ],
    }
    manifest_path = out_dir / MANIFEST_NAME
    temp = temp_path_for(manifest_path)
    temp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, manifest_path)  # the manifest last: a complete export has one
    return BulkExportResult(
        folder=out_dir,
        manifest=manifest_path,
        transaction_time=transaction_time,
        counts={t: n for t, n in counts.items() if n},
        files=files,
        errors=len(outcomes),
    )


def _write_ndjson(path: Path, resources: list[Resource], gzip: bool) -> Path:
    data = "".join(_ENCODER.encode(r) + "\n" for r in resources).encode("utf-8")
    if gzip:
        data = gzip_module.compress(data, mtime=0)  # mtime 0: same bytes on every run
    path.write_bytes(data)
    return path
