"""The bronze reader: what becomes a resource row, what becomes a rejected line, and lineage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.ehr.bronze import FileLineage, classify_line, read_landing_file


@pytest.mark.parametrize(
    ("raw", "reason_start"),
    [
        (b'{"resourceType":"Encounter","id":"1"', "invalid JSON"),
        (b"[1, 2]", "JSON value is a list"),
        (b'"just a string"', "JSON value is a str"),
        (b"   ", "blank line"),
        (b'{"id":"1","note":"\\u0000"}', "contains a \\u0000"),
        (b'{"id":"\xff"}', "line is not valid UTF-8"),
    ],
)
def test_unstorable_lines_are_rejected_with_a_reason(raw: bytes, reason_start: str) -> None:
    resource, reason = classify_line(raw)
    assert resource is None
    assert reason is not None and reason.startswith(reason_start)


def test_a_json_object_is_kept_byte_for_byte() -> None:
    raw = '{"resourceType":"Patient","id":"7","name":[{"family":"Müller"}]}'.encode()
    assert classify_line(raw) == (raw.decode(), None)


def test_a_resource_without_id_still_lands_in_bronze() -> None:
    # Missing ids are a silver concern (quarantine); bronze keeps what arrived.
    resource, reason = classify_line(b'{"resourceType":"Encounter","status":"finished"}')
    assert reason is None and resource is not None


def _landing_file(root: Path, lines: list[str]) -> Path:
    folder = root / "acme" / "prod" / "epic" / "encounter" / "20250302T060000Z"
    folder.mkdir(parents=True)
    path = folder / "encounter-0000.ndjson"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_every_line_is_accounted_for_with_lineage(tmp_path: Path) -> None:
    lines = ['{"id":"1"}', "{broken", '{"id":"2"}', "", '{"id":"3"}']
    path = _landing_file(tmp_path, lines)
    at = datetime(2025, 3, 2, 6, tzinfo=UTC)
    batches = list(read_landing_file(path, tmp_path, at, batch_rows=2))

    resources = [t for kind, t in batches if kind == "resource"]
    rejected = [t for kind, t in batches if kind == "rejected"]
    assert [t.num_rows for t in resources] == [2, 1]  # split at batch_rows
    assert sum(t.num_rows for t in resources) + sum(t.num_rows for t in rejected) == len(lines)

    kept = [row for t in resources for row in t.to_pylist()]
    assert [row["line_number"] for row in kept] == [1, 3, 5]
    assert kept[0]["resource"] == '{"id":"1"}'
    assert {row["ehr_system"] for row in kept} == {"epic"}
    assert {row["tenant"] for row in kept} == {"acme"}
    assert {row["environment"] for row in kept} == {"prod"}
    assert {row["batch_id"] for row in kept} == {"20250302T060000Z"}
    assert {row["source_file"] for row in kept} == {
        "acme/prod/epic/encounter/20250302T060000Z/encounter-0000.ndjson"
    }

    bad = rejected[0].to_pylist()
    assert [(row["line_number"], row["raw_line"]) for row in bad] == [(2, "{broken"), (4, "")]
    assert all(row["entity"] == "encounter" for row in bad)


def test_lineage_is_read_from_the_landing_path(tmp_path: Path) -> None:
    path = tmp_path / "t" / "e" / "athena" / "patient" / "20250101T060000Z" / "patient-0001.ndjson"
    lineage = FileLineage.of(path, tmp_path)
    assert (lineage.tenant, lineage.environment, lineage.ehr_system, lineage.entity, lineage.batch_id) == (
        "t",
        "e",
        "athena",
        "patient",
        "20250101T060000Z",
    )
