"""The bronze reader: what becomes a resource row, what becomes a rejected line, and lineage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.ehr import bronze
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


def _read(path: Path, root: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]], dict[str, object]]:
    batches = list(read_landing_file(path, root, datetime(2025, 3, 2, 6, tzinfo=UTC)))
    kept = [(r["line_number"], r["resource"]) for k, t in batches if k == "resource" for r in t.to_pylist()]
    bad = [(r["line_number"], r["error"]) for k, t in batches if k == "rejected" for r in t.to_pylist()]
    return kept, bad, batches[-1][1].to_pylist()[0]


def test_a_clean_file_is_validated_in_bulk_and_kept_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def line_by_line(*_: object) -> None:
        raise AssertionError("a clean file must not be read line by line")

    monkeypatch.setattr(bronze, "_classified_lines", line_by_line)
    note = 'caf\u00e9, \\"quoted\\"'
    lines = [f'{{"id":"{n}","note":"{note}","n":[1.5,{{"a":null}}]}}' for n in range(1, 1001)]
    path = _landing_file(tmp_path, lines)
    kept, bad, file_log = _read(path, tmp_path)
    assert kept == list(enumerate(lines, 1)) and bad == []
    assert (file_log["lines"], file_log["rows_loaded"], file_log["rows_rejected"]) == (1000, 1000, 0)


@pytest.mark.parametrize(
    ("line", "reason_start"),
    [
        ('{"id":"2","value":NaN}', "invalid JSON"),  # Arrow's parser would take it
        ('{"id":"2"}{"id":"3"}', "invalid JSON"),  # two objects on one line
        ('{"id":"2","x":"\\ud800"}', "invalid JSON"),  # a lone surrogate: jsonb refuses it
        ('{"id":"2","x":"\\u0000"}', "contains a \\u0000"),
        ("[1]", "JSON value is a list"),
        (" ", "blank line"),
    ],
)
def test_a_bad_line_among_good_ones_is_rejected_and_the_others_land(
    tmp_path: Path, line: str, reason_start: str
) -> None:
    path = _landing_file(tmp_path, ['{"id":"1"}', line, '{"id":"3"}'])
    kept, bad, file_log = _read(path, tmp_path)
    assert kept == [(1, '{"id":"1"}'), (3, '{"id":"3"}')]
    assert [n for n, _ in bad] == [2] and bad[0][1].startswith(reason_start)
    assert file_log["lines"] == 3


def test_invalid_utf8_crlf_a_bom_and_a_missing_last_line_break(tmp_path: Path) -> None:
    folder = tmp_path / "acme" / "prod" / "epic" / "encounter" / "20250302T060000Z"
    folder.mkdir(parents=True)
    path = folder / "encounter-0000.ndjson"
    path.write_bytes(b'\xef\xbb\xbf{"id":"1"}\r\n{"id":"\xff"}\r\n{"id":"3"}')
    kept, bad, file_log = _read(path, tmp_path)
    assert kept == [(1, '{"id":"1"}'), (3, '{"id":"3"}')]
    assert bad == [(2, "line is not valid UTF-8")]
    assert file_log["lines"] == 3

    path.write_bytes(b'{"id":"1"}\n{"id":"\xff"}\n')  # no CR: the bulk check sees the bad byte too
    kept, bad, _ = _read(path, tmp_path)
    assert kept == [(1, '{"id":"1"}')] and bad == [(2, "line is not valid UTF-8")]
