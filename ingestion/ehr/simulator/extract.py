"""``simulate_ehr_extract``: one day's FHIR R4 NDJSON bulk extract of every simulated EHR.

Per system, the first extract is the initial full history; every later one is that day's
incremental extract. Each (system, entity) gets one batch folder per day, published by its
manifest; the patient manifest is written last and carries the system's state, so a system's
extract counts as done exactly when that manifest exists. Re-running a finished day changes
nothing and returns what the manifests say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from random import Random
from typing import Any

from ingestion.ehr.resources import EHR_SYSTEMS, ENTITIES, RESOURCE_TYPES
from ingestion.ehr.simulator.incremental import write_incremental
from ingestion.ehr.simulator.initial import write_initial
from ingestion.ehr.simulator.state import STATE_ENTITY, STATE_KEY, prior_state
from ingestion.ehr.simulator.writer import EntityBatchWriter
from ingestion.landing import batch_dir, batch_id_for, is_complete, read_manifest, write_manifest

# Reference data arrives clean; clinical feeds carry the defects.
CLEAN_ENTITIES = frozenset({"organization", "location"})
# Share of all patients that each system holds.
SYSTEM_SHARE = {"athena": 0.55, "epic": 0.45}
FORMAT = "application/fhir+ndjson"
FHIR_VERSION = "4.0.1"

Progress = Callable[[str, int], None]


@dataclass
class SimulationResult:
    """What one call landed (or, on a re-run, what the manifests of that day say it landed)."""

    extract_date: date
    kind: str  # "initial" if any system wrote its initial extract, else "incremental"
    batch_id: str
    files: list[Path]
    lines_by_entity: dict[str, int]  # every line written, malformed ones included
    malformed_lines: int
    encounters: int  # distinct encounters sent (new and updated), summed over systems
    patients: int  # distinct patients sent (new and updated), summed over systems
    kind_by_system: dict[str, str] = field(default_factory=dict)


def split_patients(patients: int) -> dict[str, int]:
    """Initial patients per system (about 55/45)."""
    if patients < len(EHR_SYSTEMS):
        raise ValueError(f"need at least {len(EHR_SYSTEMS)} patients, one per EHR system")
    first = max(1, min(patients - 1, round(patients * SYSTEM_SHARE[EHR_SYSTEMS[0]])))
    return {EHR_SYSTEMS[0]: first, EHR_SYSTEMS[1]: patients - first}


def simulate_ehr_extract(
    landing_root: Path,
    *,
    extract_date: date,
    seed: int = 42,
    patients: int = 5000,
    tenant: str = "carehouse",
    env: str = "dev",
    progress: Progress | None = None,
) -> SimulationResult:
    """Land the extract of ``extract_date`` for every EHR system and describe it.

    ``patients`` sizes the initial extract only; incremental extracts grow from what exists.
    ``progress(label, lines)`` is called with the lines written since its previous call.
    Same seed, date and prior landing state give byte-identical files.
    """
    batch_id = batch_id_for(extract_date)
    per_system = split_patients(patients)
    manifests: dict[str, dict[str, dict[str, Any]]] = {}
    for system in EHR_SYSTEMS:
        extract_system(landing_root, tenant, env, system, extract_date, seed, per_system[system], progress)
        manifests[system] = _read_manifests(landing_root, tenant, env, system, batch_id)
    return _result(landing_root, tenant, env, extract_date, batch_id, manifests)


def extract_system(
    landing_root: Path,
    tenant: str,
    env: str,
    system: str,
    extract_date: date,
    seed: int,
    patients: int,
    progress: Progress | None = None,
) -> None:
    """Write one system's batches for the day, unless they are complete already."""
    batch_id = batch_id_for(extract_date)
    folders = {entity: batch_dir(landing_root, tenant, env, system, entity, batch_id) for entity in ENTITIES}
    if is_complete(folders[STATE_ENTITY]):
        return
    previous = prior_state(landing_root, tenant, env, system, batch_id)
    kind = "initial" if previous is None else "incremental"
    on_lines = _progress_for(progress, f"{system} {kind} extract")
    writers = {
        entity: EntityBatchWriter(
            folders[entity],
            entity,
            defects=None
            if entity in CLEAN_ENTITIES
            else Random(f"{seed}:{system}:{extract_date}:{entity}:defects"),
            dry=is_complete(folders[entity]),
            on_lines=on_lines,
        )
        for entity in ENTITIES
    }
    try:
        if previous is None:
            state = write_initial(system, seed, extract_date, patients, writers)
        else:
            state = write_incremental(system, seed, extract_date, previous, writers)
        files = {entity: writer.close() for entity, writer in writers.items()}
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    for entity in sorted(ENTITIES, key=lambda name: name == STATE_ENTITY):  # the state carrier last
        if is_complete(folders[entity]):
            continue
        writer = writers[entity]
        extra: dict[str, Any] = {
            "source": "ehr",
            "tenant": tenant,
            "env": env,
            "system": system,
            "entity": entity,
            "resource_type": RESOURCE_TYPES[entity],
            "batch_id": batch_id,
            "extract_date": extract_date.isoformat(),
            "kind": kind,
            "seed": seed,
            "format": FORMAT,
            "fhir_version": FHIR_VERSION,
            "resources": writer.resources,
            "malformed_lines": writer.malformed,
        }
        if entity == STATE_ENTITY:
            extra[STATE_KEY] = state.to_json()
        write_manifest(folders[entity], files[entity], extra)


def _progress_for(progress: Progress | None, label: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    report = progress

    def on_lines(lines: int) -> None:
        report(label, lines)

    return on_lines


def _read_manifests(
    landing_root: Path, tenant: str, env: str, system: str, batch_id: str
) -> dict[str, dict[str, Any]]:
    return {
        entity: read_manifest(batch_dir(landing_root, tenant, env, system, entity, batch_id))
        for entity in ENTITIES
    }


def _result(
    landing_root: Path,
    tenant: str,
    env: str,
    extract_date: date,
    batch_id: str,
    manifests: dict[str, dict[str, dict[str, Any]]],
) -> SimulationResult:
    files: list[Path] = []
    lines = dict.fromkeys(ENTITIES, 0)
    malformed = encounters = patients = 0
    kinds: dict[str, str] = {}
    for system, by_entity in manifests.items():
        kinds[system] = by_entity[STATE_ENTITY]["kind"]
        for entity, manifest in by_entity.items():
            folder = batch_dir(landing_root, tenant, env, system, entity, batch_id)
            files.extend(folder / name for name in manifest["files"])
            lines[entity] += int(manifest["lines"])
            malformed += int(manifest["malformed_lines"])
        encounters += int(by_entity["encounter"]["resources"])
        patients += int(by_entity["patient"]["resources"])
    return SimulationResult(
        extract_date=extract_date,
        kind="initial" if "initial" in kinds.values() else "incremental",
        batch_id=batch_id,
        files=sorted(files),
        lines_by_entity=lines,
        malformed_lines=malformed,
        encounters=encounters,
        patients=patients,
        kind_by_system=kinds,
    )
