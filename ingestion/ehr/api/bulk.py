"""The server side of FHIR Bulk Data ``$export`` (Bulk Data Access IG v2) over the landing index.

- Kick-off ``GET /{system}/fhir/$export`` or ``/{system}/fhir/Group/{id}/$export`` with
  ``Prefer: respond-async``: parameters ``_type``, ``_since``, ``_outputFormat`` are checked
  (anything else is a 400 OperationOutcome unless ``Prefer: handling=lenient``), the export is
  computed at once as a snapshot of the current resources, and the answer is 202 with the
  status URL in ``Content-Location``.
- Status ``GET {status}``: 202 with ``X-Progress`` and ``Retry-After`` for the first
  ``polls_until_done`` polls (a real export takes time; the simulation makes the client wait),
  429 with ``Retry-After`` when polled before the last ``Retry-After`` elapsed, then 200 with the
  completion manifest. ``DELETE {status}`` cancels (202); the job is gone afterwards (404).
- Files ``GET .../bulkfiles/{job}/{Type}.{n}.ndjson``: ``application/fhir+ndjson``, at most
  ``resources_per_file`` resources each.

What is exported: the same current versions the REST search serves (``index.py``), per landing
folder of the system; ``_since`` keeps resources whose ``meta.lastUpdated`` is after it.
``transactionTime`` is the server's clock, and the simulated EHR's clock is its data's: the
newest ``meta.lastUpdated`` the server holds for the system, in any type (the simulator stamps
resources with simulated days, behind or ahead of the wall clock; a real server stamps them
with its own clock). So nothing in an export is newer than its ``transactionTime``, and the
next export ``_since`` that time gets exactly the resources that changed after it. One
exception keeps exports distinguishable (a landing batch is named after its transactionTime, to
the second): when the data has not changed since this server's previous export with files of the
system, for instance a Group or ``_type`` export right after a full one, the clock ticks to the
next second after that export's transactionTime.
Lines the index cannot serve (broken JSON, no id or ``lastUpdated``) are reported per type
in an ``OperationOutcome`` NDJSON file of ``error[]`` of exports without ``_since`` (such a
line has no time to compare ``_since`` with; an incremental export would repeat it forever).

Groups (``Group/{id}/$export``), the same for every system: ``all`` (every patient) and
``inpatients`` (patients with an Encounter of class IMP). A group export holds the members'
Patient resources and the resources whose ``subject``, ``patient`` or ``beneficiary`` references
a member (``Patient/{id}``); resources outside the patient compartment (Organization,
Practitioner, Location, …) are not part of a group export.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ingestion.ehr.api.index import Entry, LandingIndex, TypeIndex, format_instant, instant_us
from ingestion.ehr.resources import RESOURCE_TYPES
from ingestion.landing import LANDING_MANIFEST

NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
GROUPS = {
    "all": "every patient of the system",
    "inpatients": "patients with at least one inpatient (class IMP) encounter",
}
PATIENT_REFERENCES = ("subject", "patient", "beneficiary")
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
_SUPPORTED_PARAMS = {"_type", "_since", "_outputFormat"}
_NOT_EXPORTED = {"operationoutcome"}  # error files of earlier exports, staged as a type
JOB_RETENTION_S = 3600.0
_SECOND = 1_000_000


class ExportError(ValueError):
    """A kick-off the server refuses: answered 400 with an OperationOutcome."""


@dataclass(frozen=True)
class BulkOptions:
    """Pacing and fault switches of the simulated export (defaults: a realistic, quick export)."""

    polls_until_done: int = 2  # status polls answered 202 before the manifest
    retry_after_s: int = 1  # Retry-After of an in-progress answer; polling sooner is a 429
    resources_per_file: int = 10_000
    throttle_first_poll: bool = False  # fault: the first status poll of every job is a 429
    throttle_first_download: bool = False  # fault: the first file download of every job is a 429


@dataclass(frozen=True)
class ExportFile:
    type: str
    name: str
    index: TypeIndex | None  # None: ``content`` holds the bytes (error files)
    entries: tuple[Entry, ...] = ()
    content: bytes = b""

    def body(self) -> bytes:
        if self.index is None:
            return self.content
        return b"".join(raw + b"\n" for raw in self.index.read(self.entries))


@dataclass
class ExportJob:
    id: str
    system: str
    request: str
    transaction_time: str
    outputs: list[ExportFile]
    errors: list[ExportFile]
    created: float = field(default_factory=time.monotonic)
    polls: int = 0
    last_poll: float | None = None
    downloads: int = 0

    def file(self, name: str) -> ExportFile | None:
        return next((f for f in (*self.outputs, *self.errors) if f.name == name), None)

    def manifest(self, files_url: str) -> dict[str, object]:
        return {
            "transactionTime": self.transaction_time,
            "request": self.request,
            "requiresAccessToken": True,
            "output": [
                {"type": f.type, "url": f"{files_url}/{f.name}", "count": len(f.entries)}
                for f in self.outputs
            ],
            "error": [{"type": "OperationOutcome", "url": f"{files_url}/{f.name}"} for f in self.errors],
        }


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ExportError(f"{name} may be given once")
    return values[0]


@dataclass(frozen=True)
class ExportRequest:
    types: tuple[str, ...] | None  # None: every type
    since_us: int | None


def parse_kickoff(params: Mapping[str, Sequence[str]], headers: Mapping[str, str]) -> ExportRequest:
    """The kick-off's parameters and headers, or :class:`ExportError` saying what is wrong."""
    prefer = headers.get("prefer", "").lower()
    if "respond-async" not in prefer:
        raise ExportError("$export needs the header Prefer: respond-async")
    accept = headers.get("accept", "application/fhir+json").lower()
    if "application/fhir+json" not in accept and "*/*" not in accept:
        raise ExportError("$export answers application/fhir+json only (Accept)")
    unknown = sorted(set(params) - _SUPPORTED_PARAMS)
    if unknown and "handling=lenient" not in prefer:
        raise ExportError(f"parameter(s) not supported: {', '.join(unknown)}")
    output_format = _single(params, "_outputFormat")
    if output_format is not None and output_format not in NDJSON_FORMATS:
        raise ExportError("_outputFormat supports application/fhir+ndjson only")
    types = None
    type_values = params.get("_type")
    if type_values:
        names = [name.strip() for value in type_values for name in value.split(",") if name.strip()]
        bad = [name for name in names if not _TYPE_NAME.fullmatch(name)]
        if bad or not names:
            raise ExportError(
                "_type is a comma-separated list of FHIR resource types, e.g. Patient,Encounter"
            )
        types = tuple(dict.fromkeys(names))
    since_us = None
    since = _single(params, "_since")
    if since is not None:
        since = since.replace(" ", "+")  # an unencoded "+00:00"
        since_us = instant_us(since) if "T" in since else None
        if since_us is None:
            raise ExportError("_since must be a FHIR instant, e.g. 2025-03-01T00:00:00Z")
    return ExportRequest(types, since_us)


def _patient_reference(resource: dict[str, object]) -> str | None:
    for name in PATIENT_REFERENCES:
        value = resource.get(name)
        reference = value.get("reference") if isinstance(value, dict) else None
        if isinstance(reference, str) and "Patient/" in reference:
            return reference.rsplit("Patient/", 1)[1].split("/", 1)[0]
    return None


class BulkExports:
    """Export jobs of one server: created at kick-off, polled, downloaded, cancelled."""

    def __init__(self, index: LandingIndex, options: BulkOptions) -> None:
        self.index = index
        self.options = options
        self._lock = threading.Lock()
        self._jobs: dict[str, ExportJob] = {}
        # per system: the second of the transactionTime of the last export with files
        self._last_second: dict[str, int] = {}

    # -- what a system holds -------------------------------------------------------------------

    def _entities(self, system: str) -> list[str]:
        base = Path(self.index.landing_root) / self.index.tenant / self.index.env / system
        if not base.is_dir():
            return []
        return sorted(
            p.name
            for p in base.iterdir()
            if p.is_dir() and p.name not in _NOT_EXPORTED and any(p.glob(f"*/{LANDING_MANIFEST}"))
        )

    def _type_name(self, entity: str, index: TypeIndex, entries: Sequence[Entry]) -> str:
        if entity in RESOURCE_TYPES:
            return RESOURCE_TYPES[entity]
        first = orjson.loads(index.read(entries[:1])[0]) if entries else {}
        name = first.get("resourceType") if isinstance(first, dict) else None
        return name if isinstance(name, str) and name.lower() == entity else entity.capitalize()

    # -- jobs ----------------------------------------------------------------------------------

    def kick_off(self, system: str, group: str | None, request: ExportRequest, request_url: str) -> ExportJob:
        if group is not None and group not in GROUPS:
            raise ExportError(f"no Group {group}; groups: {', '.join(GROUPS)}")
        wanted = {t.lower() for t in request.types} if request.types else None
        selected: list[tuple[str, TypeIndex, list[Entry]]] = []
        clock = request.since_us or 0  # the simulated clock: the newest change held (see above)
        skipped: dict[str, int] = {}
        for entity in self._entities(system):
            index = self.index.type_index(system, entity)
            entries = index.entries(rescan=True)
            clock = max(clock, entries[-1].instant_us if entries else 0)
            if wanted is not None and entity not in wanted:
                continue
            if request.since_us is not None:
                entries = [e for e in entries if e.instant_us > request.since_us]
            name = self._type_name(entity, index, entries)
            if index.skipped_lines and request.since_us is None:
                skipped[name] = index.skipped_lines
            selected.append((name, index, entries))
        if group is not None:
            selected = self._group_members(system, group, selected)
        outputs: list[ExportFile] = []
        per_file = max(1, self.options.resources_per_file)
        for name, index, entries in selected:
            for n, start in enumerate(range(0, len(entries), per_file), start=1):
                chunk = tuple(entries[start : start + per_file])
                outputs.append(ExportFile(name, f"{name}.{n}.ndjson", index, chunk))
        with self._lock:
            if outputs:
                last = self._last_second.get(system)
                if last is not None and clock // _SECOND <= last:
                    clock = (last + 1) * _SECOND
                self._last_second[system] = clock // _SECOND
        job = ExportJob(
            id=secrets.token_urlsafe(16),
            system=system,
            request=request_url,
            transaction_time=format_instant(clock),
            outputs=outputs,
            errors=[self._error_file(skipped)] if skipped else [],
        )
        with self._lock:
            horizon = time.monotonic() - JOB_RETENTION_S
            self._jobs = {k: j for k, j in self._jobs.items() if j.created > horizon}
            self._jobs[job.id] = job
        return job

    def _group_members(
        self, system: str, group: str, selected: list[tuple[str, TypeIndex, list[Entry]]]
    ) -> list[tuple[str, TypeIndex, list[Entry]]]:
        """Only the patient compartment of the group's members (see the module docstring)."""
        patients = self.index.type_index(system, "patient").entries(rescan=True)
        members = {e.id for e in patients}
        if group == "inpatients":
            encounters = self.index.type_index(system, "encounter")
            entries = encounters.entries(rescan=True)
            inpatients = set()
            for raw in encounters.read(entries):
                resource = orjson.loads(raw)
                klass = resource.get("class")
                if isinstance(klass, dict) and klass.get("code") == "IMP":
                    inpatients.add(_patient_reference(resource))
            members &= inpatients
        kept = []
        for name, index, entries in selected:
            if name == "Patient":
                kept.append((name, index, [e for e in entries if e.id in members]))
                continue
            resources = [orjson.loads(raw) for raw in index.read(entries)]
            mine = [e for e, r in zip(entries, resources, strict=True) if _patient_reference(r) in members]
            if any(_patient_reference(r) is not None for r in resources) or not resources:
                kept.append((name, index, mine))
        return kept

    def _error_file(self, skipped: dict[str, int]) -> ExportFile:
        lines = []
        for n, (name, count) in enumerate(sorted(skipped.items()), start=1):
            issue = {
                "severity": "error",
                "code": "processing",
                "diagnostics": f"{count} stored {name} record(s) could not be exported "
                "(not JSON, or without id or meta.lastUpdated)",
            }
            lines.append(
                orjson.dumps(
                    {"resourceType": "OperationOutcome", "id": f"export-error-{n}", "issue": [issue]}
                )
            )
        return ExportFile(
            "OperationOutcome", "OperationOutcome.1.ndjson", None, (), b"\n".join(lines) + b"\n"
        )

    def job(self, job_id: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            return self._jobs.pop(job_id, None) is not None

    def poll(self, job: ExportJob) -> tuple[str, float]:
        """One status poll: ("throttled", wait) | ("in-progress", retry after) | ("complete", 0)."""
        now = time.monotonic()
        options = self.options
        with self._lock:
            if options.throttle_first_poll and job.polls == 0 and job.last_poll is None:
                job.last_poll = now
                return "throttled", max(1, options.retry_after_s)
            if job.last_poll is not None and job.polls and now - job.last_poll < options.retry_after_s:
                return "throttled", options.retry_after_s - (now - job.last_poll)
            job.polls += 1
            job.last_poll = now
            if job.polls <= options.polls_until_done:
                return "in-progress", options.retry_after_s
            return "complete", 0.0

    def progress(self, job: ExportJob) -> str:
        done = min(100, round(100 * job.polls / (self.options.polls_until_done + 1)))
        return f"{done}% exported"

    def throttle_download(self, job: ExportJob) -> bool:
        """Fault switch: True for the first download of a job when downloads are throttled."""
        with self._lock:
            job.downloads += 1
            return self.options.throttle_first_download and job.downloads == 1
