"""Reading a landing CSV file into Arrow, every column as text, bad records set aside.

Bronze is the raw copy, so nothing is parsed: an unparseable date or amount must survive
verbatim for silver to quarantine. Clean files (the normal case) go through pyarrow's CSV
reader, ~10x faster than the ``csv`` module. A file pyarrow flags (a record with the wrong
number of fields, invalid UTF-8) or that holds a NUL byte is re-read with the ``csv`` module,
which knows each record's exact position and raw text, so the bad records can be rejected
one by one while the rest of the file lands with exact row numbers.

Blank lines are not records: both readers skip them and they do not count as rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

_BOM = "\ufeff"
_MAX_FIELD = 2**31 - 1  # the csv module's default limit (128 KiB) would reject long free text


class CsvHeaderError(ValueError):
    """The header row cannot name bronze columns (empty or repeated names)."""


@dataclass(frozen=True)
class RejectedRecord:
    row_number: int
    error: str
    raw_line: str


@dataclass(frozen=True)
class CsvFile:
    """A CSV file as read: ``data`` holds the good records (header order, all strings);
    ``row_numbers`` their 1-based position among all data records of the file."""

    header: tuple[str, ...]
    data: pa.Table
    row_numbers: pa.Array
    rejected: tuple[RejectedRecord, ...]


def read_csv_file(path: Path) -> CsvFile:
    """Read one CSV file (header row, comma, RFC 4180 quoting, UTF-8)."""
    raw = path.read_bytes()
    header = _header(raw, path)
    if not header:
        return CsvFile((), pa.table({}), pa.array([], pa.int64()), ())
    if b"\x00" not in raw:
        fast = _read_with_pyarrow(raw, header)
        if fast is not None:
            return fast
    return _read_with_csv_module(raw, header)


def _header(raw: bytes, path: Path) -> tuple[str, ...]:
    try:
        first_line = raw[: raw.find(b"\n") + 1 or None].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvHeaderError(f"{path}: the header row is not valid UTF-8") from exc
    header = tuple(next(csv.reader(io.StringIO(first_line)), []))
    empty = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if empty:
        raise CsvHeaderError(f"{path}: header column(s) {empty} have no name")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CsvHeaderError(f"{path}: header repeats column(s) {repeated}")
    return header


def _read_with_pyarrow(raw: bytes, header: tuple[str, ...]) -> CsvFile | None:
    """The fast path; ``None`` when the file has a record pyarrow cannot take as is."""
    invalid: list[int] = []

    def flag(_row: pacsv.InvalidRow) -> str:
        invalid.append(1)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(column_names=list(header), skip_rows=1, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=flag),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # e.g. invalid UTF-8
        return None
    if invalid:
        return None
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return CsvFile(header, table, rows, ())


class _RecordLines:
    """Feeds decoded lines to ``csv.reader`` and keeps the raw text of the record being read."""

    def __init__(self, raw: bytes) -> None:
        self._lines = iter(io.BytesIO(raw))
        self._pending: list[str] = []
        self._invalid_utf8 = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            self._invalid_utf8 = True
        self._pending.append(text)
        return text

    def take(self) -> tuple[str, bool]:
        """(raw text, invalid UTF-8?) of the record just parsed; starts the next record."""
        text, invalid = "".join(self._pending), self._invalid_utf8
        self._pending, self._invalid_utf8 = [], False
        return text.rstrip("\r\n"), invalid


def _read_with_csv_module(raw: bytes, header: tuple[str, ...]) -> CsvFile:
    csv.field_size_limit(_MAX_FIELD)
    lines = _RecordLines(raw)
    records = csv.reader(lines, strict=False)
    next(records)  # the header, already read
    lines.take()
    good: list[list[str]] = []
    row_numbers: list[int] = []
    rejected: list[RejectedRecord] = []
    row_number = 0
    for record in records:
        text, invalid_utf8 = lines.take()
        if not record:  # blank line
            continue
        row_number += 1
        error = _record_error(record, len(header), invalid_utf8)
        if error is None:
            good.append(record)
            row_numbers.append(row_number)
        else:
            rejected.append(RejectedRecord(row_number, error, text.replace("\x00", "\ufffd")))
    columns = list(zip(*good, strict=True)) if good else [() for _ in header]
    data = pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )
    return CsvFile(header, data, pa.array(row_numbers, pa.int64()), tuple(rejected))


def _record_error(record: list[str], expected: int, invalid_utf8: bool) -> str | None:
    if invalid_utf8:
        return "not valid UTF-8 (raw_line shows U+FFFD for the bad bytes)"
    if any("\x00" in value for value in record):
        return "contains a NUL character, which Postgres text cannot store (raw_line shows U+FFFD)"
    if len(record) != expected:
        return f"expected {expected} fields, found {len(record)}"
    return None
