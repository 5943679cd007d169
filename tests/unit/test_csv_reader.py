"""The feed CSV reader on records the ``csv`` module cannot parse: each one is rejected, never raised,
and the records around it keep their row numbers, on the pyarrow path and the csv-module path alike."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.feeds import csv_reader
from ingestion.feeds.csv_reader import CsvFile, CsvHeaderError, read_csv_file


def _read(tmp_path: Path, data: bytes) -> CsvFile:
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    return read_csv_file(path)


def _rows(csv_file: CsvFile) -> list[tuple[int, dict[str, str]]]:
    return list(zip(csv_file.row_numbers.to_pylist(), csv_file.data.to_pylist(), strict=True))


def _rejected(csv_file: CsvFile) -> list[tuple[int, str]]:
    return [(r.row_number, r.raw_line) for r in csv_file.rejected]


def test_bare_cr_inside_a_crlf_record_is_rejected(tmp_path: Path) -> None:
    data = b"id,note\r\n1,ok\r\n2,bad\rnote\r\n\r\n3,fine\r\n"
    csv_file = _read(tmp_path, data)
    assert _rows(csv_file) == [(1, {"id": "1", "note": "ok"}), (3, {"id": "3", "note": "fine"})]
    assert _rejected(csv_file) == [(2, "2,bad\rnote")]
    assert "carriage return" in csv_file.rejected[0].error


def test_bare_cr_is_not_a_line_break_even_when_both_halves_look_like_records(tmp_path: Path) -> None:
    # pyarrow alone would read "2,x" and "3,y" as two good records and shift every later row number
    csv_file = _read(tmp_path, b"id,note\r\n1,a\r\n2,x\r3,y\r\n4,b\r\n")
    assert _rows(csv_file) == [(1, {"id": "1", "note": "a"}), (3, {"id": "4", "note": "b"})]
    assert _rejected(csv_file) == [(2, "2,x\r3,y")]


def test_bare_cr_in_an_lf_file_is_rejected(tmp_path: Path) -> None:
    csv_file = _read(tmp_path, b"id,note\n1,ok\n2,bad\rnote\n3,\xff\n4,fine\n")
    assert _rows(csv_file) == [(1, {"id": "1", "note": "ok"}), (4, {"id": "4", "note": "fine"})]
    assert _rejected(csv_file) == [(2, "2,bad\rnote"), (3, "3,\ufffd")]
    assert "carriage return" in csv_file.rejected[0].error
    assert "UTF-8" in csv_file.rejected[1].error


def test_bare_cr_before_a_multiline_quoted_field_rejects_the_whole_record(tmp_path: Path) -> None:
    # the record ends where an LF outside quotes ends it, as if the CR were an ordinary character
    csv_file = _read(tmp_path, b'id,note\n1,x\r,"two\nlines"\n2,ok\n')
    assert _rows(csv_file) == [(2, {"id": "2", "note": "ok"})]
    assert _rejected(csv_file) == [(1, '1,x\r,"two\nlines"')]


def test_cr_inside_a_quoted_field_is_data(tmp_path: Path) -> None:
    csv_file = _read(tmp_path, b'id,note\r\n1,"a\rb"\r\n2,"c\r\rd\re"\r\n3,x\r\r\n')
    assert _rows(csv_file) == [
        (1, {"id": "1", "note": "a\rb"}),
        (2, {"id": "2", "note": "c\r\rd\re"}),
        (3, {"id": "3", "note": "x"}),  # CRs before the line's LF end the line, as the csv module reads them
    ]
    assert csv_file.rejected == ()


@pytest.mark.parametrize(
    ("data", "raw_line"),
    [
        (b'id,note\n1,ok\n2,"open\n', '2,"open'),
        (b'id,note\n1,ok\n2,"open', '2,"open'),
        (b'id,note\r\n1,ok\r\n2,"open ""quoted""\r\n3,x\r\n', '2,"open ""quoted""\r\n3,x'),
        (b'id,note\n1,ok\n2,"', '2,"'),
    ],
)
def test_a_quoted_field_left_open_at_end_of_file_is_rejected(
    tmp_path: Path, data: bytes, raw_line: str
) -> None:
    # everything after the opening quote belongs to it, so the record runs to the end of the file
    csv_file = _read(tmp_path, data)
    assert _rows(csv_file) == [(1, {"id": "1", "note": "ok"})]
    assert _rejected(csv_file) == [(2, raw_line)]
    assert "not closed" in csv_file.rejected[0].error


def test_a_field_over_the_size_limit_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = csv.field_size_limit()
    monkeypatch.setattr(csv_reader, "_MAX_FIELD", 5)
    try:
        csv_file = _read(tmp_path, b"id,note\n1,ok\n2,much too long\n3,\x00\n4,fine\n")
    finally:
        csv.field_size_limit(limit)
    assert _rows(csv_file) == [(1, {"id": "1", "note": "ok"}), (4, {"id": "4", "note": "fine"})]
    assert _rejected(csv_file) == [(2, "2,much too long"), (3, "3,\ufffd")]
    assert "field larger than field limit" in csv_file.rejected[0].error


@pytest.mark.parametrize(
    "data",
    [
        b'a,b\r\n1,"x\r\ny"\r\n\r\n2,3\r\n',
        b'a,b\n1,"x"y\n2,x"y\n3,""\n',
        b"a,b\n1,2\r",
        b'a,b\n1,""""',  # ends the way an open quoted field could: checked by the csv module
        b'a,b\n1,"x\n"\n',
        b'a,b\n1,"\n',
        b"a,b\r\n1,x\r2,y\r\n3,z\r\n",
        b'a,b\n1,"x\n2,y\n',
        b"a\n\r\n\n1\r\r\n2",
    ],
)
def test_the_pyarrow_path_agrees_with_the_csv_module_path(tmp_path: Path, data: bytes) -> None:
    # whichever path read_csv_file takes, it reads the file as the csv-module path does
    slow = csv_reader._read_with_csv_module(data, csv_reader._header(data, Path("file.csv")))
    csv_file = _read(tmp_path, data)
    assert _rows(csv_file) == _rows(slow)
    assert csv_file.rejected == slow.rejected


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b'a,b\r\n1,"x\r\ny"\r\n2,"z"', 2),  # ends in a closed quoted field, no final line break
        (b'a,b\n1,"x\n"\n2,""\n', 2),
        (b'a,b\r\n1,"say ""hi"""\r\n', 1),
    ],
)
def test_clean_files_stay_on_the_pyarrow_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, rows: int
) -> None:
    def slow(raw: bytes, header: tuple[str, ...]) -> CsvFile:
        raise AssertionError("read with the csv module")

    monkeypatch.setattr(csv_reader, "_read_with_csv_module", slow)
    assert _read(tmp_path, data).data.num_rows == rows


@pytest.mark.parametrize("data", [b"a,b\rc\n1,2,3\n", b"a,b\r1,2\r3,4\r", b'a,"b\n1,2\n'])
def test_a_header_the_csv_module_cannot_parse_is_a_header_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(CsvHeaderError, match="not valid CSV"):
        _read(tmp_path, data)


def _lines(n: int) -> Iterator[bytes]:
    yield b"id,note\r\n"
    for i in range(1, n + 1):
        yield f"{i},row {i}\r\n".encode() if i != 50_000 else b"50000,bad\rrow\r\n"


def test_a_bad_record_deep_in_a_large_file_keeps_later_row_numbers(tmp_path: Path) -> None:
    csv_file = _read(tmp_path, b"".join(_lines(100_000)))
    assert csv_file.data.num_rows == 99_999
    assert _rejected(csv_file) == [(50_000, "50000,bad\rrow")]
    numbers = csv_file.row_numbers.to_pylist()
    assert numbers[49_998:50_001] == [49_999, 50_001, 50_002]
    assert csv_file.data.column("id").to_pylist() == [str(n) for n in numbers]
