"""The landing contract: manifests list every file with its lines, size and SHA-256, and a batch
is verified against its manifest before any loader reads it (real files, no database)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.landing import (
    LANDING_MANIFEST,
    BatchStatus,
    file_facts,
    read_manifest,
    verify_batch,
    write_manifest,
)

GRACE = timedelta(minutes=60)
FIRST = "encounter-0000.ndjson"
LINES = b'{"resourceType": "Encounter", "id": "1"}\n{"resourceType": "Encounter", "id": "2"}\n'


def _ndjson(path: Path) -> bool:
    return path.name.endswith(".ndjson")


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    folder = tmp_path / "t" / "dev" / "athena" / "encounter" / "20250301T060000Z"
    folder.mkdir(parents=True)
    (folder / "encounter-0000.ndjson").write_bytes(LINES)
    (folder / "encounter-0001.ndjson").write_bytes(b'{"id": "3"}')  # no newline after the last line
    (folder / "truth.json").write_bytes(b"[]\n")
    data = ["encounter-0000.ndjson", "encounter-0001.ndjson"]
    write_manifest(folder, data, {"kind": "test"}, sidecars=["truth.json"])
    return folder


def test_file_facts_count_lines_like_wc_plus_an_unterminated_last_line(tmp_path: Path) -> None:
    cases = {b"": 0, b"a\n": 1, b"a": 1, b"a\nb": 2, b"a\r\nb\r\n": 2, b"\n\n": 2}
    for n, (data, lines) in enumerate(cases.items()):
        path = tmp_path / f"f{n}"
        path.write_bytes(data)
        facts = file_facts(path)
        assert (facts.lines, facts.bytes, facts.sha256) == (
            lines,
            len(data),
            hashlib.sha256(data).hexdigest(),
        )


def test_the_manifest_lists_lines_sizes_and_checksums_read_from_disk(batch: Path) -> None:
    manifest = read_manifest(batch)
    assert manifest["kind"] == "test"
    assert manifest["files"]["encounter-0000.ndjson"] == {
        "lines": 2,
        "bytes": len(LINES),
        "sha256": hashlib.sha256(LINES).hexdigest(),
    }
    assert manifest["files"]["encounter-0001.ndjson"]["lines"] == 1
    assert list(manifest["sidecars"]) == ["truth.json"]
    assert manifest["lines"] == 3


def test_an_intact_batch_verifies_and_lists_its_data_files(batch: Path) -> None:
    outcome = verify_batch(batch, GRACE, _ndjson)
    assert outcome.status is BatchStatus.VERIFIED and outcome.status.loadable
    assert [p.name for p in outcome.data_files] == ["encounter-0000.ndjson", "encounter-0001.ndjson"]
    assert outcome.lines == 3 and outcome.problems == ()
    assert outcome.manifest_sha256 == hashlib.sha256((batch / LANDING_MANIFEST).read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (
            lambda b: (b / "encounter-0000.ndjson").unlink(),
            "encounter-0000.ndjson: listed in the manifest, missing",
        ),
        (
            lambda b: (b / "encounter-0000.ndjson").write_bytes(b""),
            "the manifest lists 2 lines, the file has 0",
        ),
        (
            lambda b: (b / "encounter-0000.ndjson").write_bytes(LINES.replace(b'"1"', b'"9"')),
            "encounter-0000.ndjson: SHA-256 differs from the manifest",
        ),
        (lambda b: (b / "truth.json").unlink(), "truth.json: listed in the manifest, missing"),
        (lambda b: (b / LANDING_MANIFEST).write_text("{not json"), "manifest.json is not valid JSON"),
        (
            lambda b: (b / LANDING_MANIFEST).write_text(json.dumps({"files": {"x.ndjson": "many"}})),
            "manifest.json: files.x.ndjson has no line count",
        ),
    ],
    ids=["missing", "emptied", "changed", "sidecar-missing", "broken-manifest", "no-line-count"],
)
def test_a_batch_that_differs_from_its_manifest_fails_and_loads_nothing(
    batch: Path, tamper, problem: str
) -> None:
    tamper(batch)
    outcome = verify_batch(batch, GRACE, _ndjson)
    assert outcome.status is BatchStatus.FAILED and not outcome.status.loadable
    assert outcome.data_files == ()
    assert any(problem in p for p in outcome.problems), outcome.problems


def test_a_listed_file_its_loader_does_not_read_fails_the_batch(batch: Path) -> None:
    outcome = verify_batch(batch, GRACE, lambda path: path.name == "encounter-0000.ndjson")
    assert outcome.status is BatchStatus.FAILED
    assert outcome.problems == (
        "encounter-0001.ndjson: listed as data, but no loader of this folder reads it",
    )


def test_unlisted_files_are_reported_and_never_loaded(batch: Path) -> None:
    (batch / "extra.ndjson").write_bytes(LINES)
    (batch / "notes.txt").write_text("hello")
    (batch / "nested").mkdir()
    (batch / ".encounter-0002.ndjson.123.tmp").write_bytes(LINES)  # a write in flight: not a stray file
    outcome = verify_batch(batch, GRACE, _ndjson)
    assert outcome.status is BatchStatus.STRAY_FILES and outcome.status.loadable
    assert [p.name for p in outcome.data_files] == ["encounter-0000.ndjson", "encounter-0001.ndjson"]
    assert outcome.problems == (
        "extra.ndjson: not in the manifest, not loaded",
        "nested/: not in the manifest, not loaded",
        "notes.txt: not in the manifest, not loaded",
    )


def test_a_batch_without_a_manifest_is_pending_then_reported_after_the_grace_period(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "encounter-0000.ndjson").write_bytes(LINES)
    now = datetime.now(UTC)
    assert verify_batch(folder, GRACE, _ndjson, now=now).status is BatchStatus.PENDING
    later = verify_batch(folder, GRACE, _ndjson, now=now + GRACE + timedelta(minutes=5))
    assert later.status is BatchStatus.NO_MANIFEST and later.data_files == ()
    assert later.problems == ("1 file(s) and no manifest.json after 65 minutes: not loaded",)
    # an empty folder is nothing to report
    (folder / "encounter-0000.ndjson").unlink()
    assert verify_batch(folder, GRACE, _ndjson, now=now + 2 * GRACE).status is BatchStatus.PENDING


def test_an_older_manifest_with_bare_line_counts_still_verifies(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "a.ndjson").write_bytes(LINES)
    (folder / LANDING_MANIFEST).write_text(json.dumps({"files": {"a.ndjson": 2}, "lines": 2}))
    assert verify_batch(folder, GRACE, _ndjson).status is BatchStatus.VERIFIED
    (folder / LANDING_MANIFEST).write_text(json.dumps({"files": {"a.ndjson": 3}, "lines": 3}))
    assert verify_batch(folder, GRACE, _ndjson).status is BatchStatus.FAILED
