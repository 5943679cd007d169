"""Staging a FHIR Bulk Data export folder as landing batches (no database: files only)."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.ehr.bulk_export import BulkExportError, stage_bulk_export
from ingestion.ehr.registry import ENV_EHR_REGISTRY, UnknownEhrSystem
from ingestion.landing import LANDING_MANIFEST, BatchStatus, read_manifest, verify_batch
from warehouse.settings import Settings

TRANSACTION_TIME = "2025-03-02T08:30:15.123+02:00"  # 06:30:15 UTC
BATCH_ID = "20250302T063015Z"


@pytest.fixture(autouse=True)
def _shipped_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_EHR_REGISTRY, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", external_dsn=None, tenant="carehouse", environment="dev")


def _lines(kind: str, n: int) -> bytes:
    return b"".join(
        json.dumps({"resourceType": kind, "id": f"{kind}-{i}"}).encode() + b"\n" for i in range(n)
    )


def _export(folder: Path, *, manifest: bool = True, counts: dict[str, int] | None = None) -> Path:
    """Patient (2 files, one gzipped), Encounter, Device, and an OperationOutcome error file."""
    folder.mkdir(parents=True)
    (folder / "Patient.000.ndjson").write_bytes(_lines("Patient", 3))
    (folder / "Patient.001.ndjson.gz").write_bytes(gzip.compress(_lines("Patient", 2)))
    (folder / "Encounter.000.ndjson").write_bytes(_lines("Encounter", 4))
    (folder / "Device.000.ndjson").write_bytes(_lines("Device", 1))
    (folder / "err.ndjson").write_bytes(_lines("OperationOutcome", 1))
    if manifest:
        counts = {"Patient.000.ndjson": 3, "Encounter.000.ndjson": 4, **(counts or {})}
        files = [("Patient", "Patient.000.ndjson"), ("Patient", "Patient.001.ndjson.gz"),
                 ("Encounter", "Encounter.000.ndjson"), ("Device", "Device.000.ndjson")]  # fmt: skip
        output = [
            {
                "type": kind,
                "url": f"https://ehr.example.org/files/{name}",
                **({"count": counts[name]} if name in counts else {}),
            }
            for kind, name in files
        ]
        document = {
            "transactionTime": TRANSACTION_TIME,
            "request": "https://ehr.example.org/fhir/Group/g1/$export?_type=Patient,Encounter,Device",
            "requiresAccessToken": True,
            "output": output,
            "error": [{"type": "OperationOutcome", "url": "https://ehr.example.org/files/err.ndjson"}],
        }
        (folder / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def _batches(settings: Settings) -> list[Path]:
    return sorted(settings.landing_dir.glob("carehouse/dev/*/*/*"))


def _verified(folder: Path) -> bool:
    return (
        verify_batch(folder, timedelta(0), lambda path: path.name.endswith(".ndjson")).status
        is BatchStatus.VERIFIED
    )


def test_an_export_with_its_manifest_becomes_one_batch_per_type(settings: Settings, tmp_path: Path) -> None:
    staged = stage_bulk_export(settings, _export(tmp_path / "export"), "athena")
    assert (staged.batch_id, staged.transaction_time, staged.transaction_time_inferred) == (
        BATCH_ID, "2025-03-02T06:30:15.123000Z", False)  # fmt: skip
    assert staged.lines_by_entity == {"device": 1, "encounter": 4, "operationoutcome": 1, "patient": 5}
    assert (
        not staged.already_staged
        and staged.request
        and staged.request.endswith("_type=Patient,Encounter,Device")
    )
    base = settings.landing_dir / "carehouse/dev/athena"
    assert _batches(settings) == [
        base / e / BATCH_ID for e in ("device", "encounter", "operationoutcome", "patient")
    ]
    assert all(_verified(folder) for folder in _batches(settings))
    patient = base / "patient" / BATCH_ID
    # the gzipped file was decompressed while staged, under the name the loader reads
    assert sorted(p.name for p in patient.iterdir()) == [
        "Patient.000.ndjson",
        "Patient.001.ndjson",
        LANDING_MANIFEST,
    ]
    assert (patient / "Patient.001.ndjson").read_bytes() == _lines("Patient", 2)
    manifest = read_manifest(patient)
    assert manifest["kind"] == "fhir_bulk_export" and manifest["lines"] == 5
    export = manifest["export"]
    assert (
        export["transactionTime"] == "2025-03-02T06:30:15.123000Z" and not export["transaction_time_inferred"]
    )
    original = export["source_files"]["Patient.001.ndjson.gz"]
    assert (original["type"], original["lines"], original["staged_as"]) == (
        "Patient",
        2,
        "Patient.001.ndjson",
    )
    assert len(original["sha256"]) == 64 and export["source_files"]["Patient.000.ndjson"]["count"] == 3
    assert len(export["fingerprint"]) == 64
    # the export's error[] file lands as OperationOutcome resources
    assert (base / "operationoutcome" / BATCH_ID / "err.ndjson").read_bytes() == _lines("OperationOutcome", 1)


def test_without_a_manifest_the_newest_file_time_is_the_batch_and_says_so(
    settings: Settings, tmp_path: Path
) -> None:
    folder = _export(tmp_path / "export", manifest=False)
    (folder / "err.ndjson").unlink()  # without a manifest a file's name is its type
    newest = datetime(2025, 4, 5, 7, 8, 9, tzinfo=UTC).timestamp()
    for path in folder.iterdir():
        os.utime(path, (newest - 60, newest - 60))
    os.utime(folder / "Encounter.000.ndjson", (newest, newest))
    staged = stage_bulk_export(settings, folder, "epic")
    assert (staged.batch_id, staged.transaction_time_inferred) == ("20250405T070809Z", True)
    assert staged.lines_by_entity == {"device": 1, "encounter": 4, "patient": 5}
    manifest = read_manifest(settings.landing_dir / "carehouse/dev/epic/encounter/20250405T070809Z")
    assert manifest["export"]["transaction_time_inferred"] is True and manifest["export"]["request"] is None


def test_the_same_files_downloaded_again_without_a_manifest_are_not_staged_twice(
    settings: Settings, tmp_path: Path
) -> None:
    folder = _export(tmp_path / "export", manifest=False)
    (folder / "err.ndjson").unlink()
    first = stage_bulk_export(settings, folder, "athena")
    later = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    for path in folder.iterdir():
        os.utime(path, (later, later))  # a new download: new file times, the same bytes
    again = stage_bulk_export(settings, folder, "athena")
    assert again.already_staged and again.batch_id == first.batch_id and again.transaction_time_inferred
    assert len(_batches(settings)) == 3


def test_a_count_that_differs_from_the_manifest_stages_nothing(settings: Settings, tmp_path: Path) -> None:
    folder = _export(tmp_path / "export", counts={"Device.000.ndjson": 2})
    with pytest.raises(BulkExportError) as caught:
        stage_bulk_export(settings, folder, "athena")
    assert str(caught.value) == (
        "Device.000.ndjson: the completion manifest announces 2 resources, the file has 1 lines:"
        " the export is not staged"
    )
    assert _batches(settings) == []


def test_a_file_the_manifest_does_not_list_or_a_listed_file_that_is_missing_is_an_error(
    settings: Settings, tmp_path: Path
) -> None:
    folder = _export(tmp_path / "export")
    (folder / "Observation.000.ndjson").write_bytes(_lines("Observation", 1))
    with pytest.raises(
        BulkExportError, match=r"^Observation.000.ndjson: in the export folder but not in its"
    ):
        stage_bulk_export(settings, folder, "athena")
    (folder / "Observation.000.ndjson").unlink()
    (folder / "Device.000.ndjson").unlink()
    with pytest.raises(
        BulkExportError, match=r"output\[3\]: its file 'Device.000.ndjson' is not in the export"
    ):
        stage_bulk_export(settings, folder, "athena")
    assert _batches(settings) == []


def test_staging_the_same_export_twice_changes_nothing(settings: Settings, tmp_path: Path) -> None:
    folder = _export(tmp_path / "export")
    first = stage_bulk_export(settings, folder, "athena")
    before = {p: p.stat().st_mtime_ns for p in settings.landing_dir.rglob("*")}
    again = stage_bulk_export(settings, folder, "athena")
    assert again.already_staged and again.staged_entities == ()
    assert (again.batch_id, again.lines_by_entity) == (first.batch_id, first.lines_by_entity)
    assert {p: p.stat().st_mtime_ns for p in settings.landing_dir.rglob("*")} == before
    # another export with the same transaction time never overwrites an appended batch
    (folder / "Device.000.ndjson").write_bytes(_lines("Device", 1).replace(b"Device-0", b"Device-9"))
    with pytest.raises(
        BulkExportError, match="landing batch athena/device/20250302T063015Z already holds other data"
    ):
        stage_bulk_export(settings, folder, "athena")


def test_a_crash_mid_staging_is_completed_by_the_rerun(settings: Settings, tmp_path: Path) -> None:
    folder = _export(tmp_path / "export")
    stage_bulk_export(settings, folder, "athena")
    # as a crash leaves it: one type's files (one half-written) and no manifest
    patient = settings.landing_dir / "carehouse/dev/athena/patient" / BATCH_ID
    (patient / LANDING_MANIFEST).unlink()
    (patient / "Patient.001.ndjson").write_bytes(b'{"resourceType": "Pat')
    (patient / ".Patient.001.ndjson.4242.tmp").write_bytes(b"partial")
    rerun = stage_bulk_export(settings, folder, "athena")
    assert rerun.staged_entities == ("patient",) and not rerun.already_staged
    assert sorted(p.name for p in patient.iterdir()) == [
        "Patient.000.ndjson",
        "Patient.001.ndjson",
        LANDING_MANIFEST,
    ]
    assert all(_verified(batch) for batch in _batches(settings))
    assert (patient / "Patient.001.ndjson").read_bytes() == _lines("Patient", 2)


def test_user_mistakes_are_one_line(settings: Settings, tmp_path: Path) -> None:
    folder = _export(tmp_path / "export")
    with pytest.raises(UnknownEhrSystem) as unknown:
        stage_bulk_export(settings, folder, "cerner")
    assert "not in the EHR registry" in str(unknown.value) and "\n" not in str(unknown.value)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no export here", encoding="utf-8")
    for path, complaint in (
        (tmp_path / "empty", "holds no NDJSON files"),
        (tmp_path / "nowhere", "is not a folder"),
    ):
        with pytest.raises(BulkExportError) as caught:
            stage_bulk_export(settings, path, "athena")
        assert complaint in str(caught.value) and "\n" not in str(caught.value)
    assert _batches(settings) == []
