"""Reading a landing CSV file into Arrow, every column as text, bad records set aside.

Bronze is the raw copy, so nothing is parsed: an unparseable date or amount must survive
verbatim for silver to quarantine. Clean files (the normal case) go through pyarrow's CSV
reader, ~10x faster than the ``csv`` module. A file pyarrow flags (a record with the wrong
number of fields, invalid UTF-8), that holds a NUL byte or a CR outside a CRLF, or that may end
inside a quoted field is re-read with the ``csv`` module, which knows each record's exact
position and raw text, so the bad records can be rejected one by one while the rest of the
file lands with exact row numbers. A record the ``csv`` module cannot parse is rejected too,
never raised: one bad record must not fail the daily load.

Records end with LF or CRLF outside quotes. Blank lines are not records: both readers skip
them and they do not count as rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

_BOM = "\ufeff"
_MAX_FIELD = 2**31 - 1  # the csv module's default limit (128 KiB) would reject long free text
_CR_MASK = "\ufffd"  # any character the csv module reads as data
_BARE_CR = re.compile(rb"\r(?!\n)")


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
    if not _needs_csv_module(raw):
        fast = _read_with_pyarrow(raw, header)
        if fast is not None:
            return fast
    return _read_with_csv_module(raw, header)


def _needs_csv_module(raw: bytes) -> bool:
    # NUL: Postgres text cannot store it. A CR outside a CRLF: pyarrow takes it for a line break
    # and could split one record into two well-formed ones, shifting every later row number.
    return b"\x00" in raw or _BARE_CR.search(raw) is not None


def _header(raw: bytes, path: Path) -> tuple[str, ...]:
    try:
        first_line = raw[: raw.find(b"\n") + 1 or None].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvHeaderError(f"{path}: the header row is not valid UTF-8") from exc
    try:  # strict: a quote left open would swallow the whole file into the header
        header = tuple(next(csv.reader([first_line], strict=True), []))
    except csv.Error as exc:  # e.g. CR-only line endings
        raise CsvHeaderError(f"{path}: the header row is not valid CSV ({exc})") from exc
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
    if invalid or _may_end_in_open_quote(raw, table):
        return None
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return CsvFile(header, table, rows, ())


def _may_end_in_open_quote(raw: bytes, table: pa.Table) -> bool:
    """pyarrow takes a quoted field left open at the end of the file for a value running to the
    end, so a file that ends the way such a value would (a quote, then the value) is left to the
    csv module, which tells the two apart."""
    if table.num_rows == 0:
        return False
    last = table.column(table.num_columns - 1)[-1].as_py()
    return raw.endswith(b'"' + last.replace('"', '""').encode())


class _RawRecord(NamedTuple):
    text: str  # without the line break that ends it
    invalid_utf8: bool
    bare_cr: bool  # holds a CR that does not end a line (masked for the reader)
    unclosed: bool  # ended by the end of the file inside a quoted field


class _RecordLines:
    """Feeds decoded lines to ``csv.reader`` and keeps the raw text of the record being read."""

    def __init__(self, raw: bytes) -> None:
        self._lines = iter(io.BytesIO(raw))
        self._pending: list[str] = []
        self._invalid_utf8 = False
        self._bare_cr = False
        self._at_end = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except StopIteration:
            self._at_end = True
            raise
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            self._invalid_utf8 = True
        self._pending.append(text)
        body = text.rstrip("\r\n")
        if "\r" in body:
            # the reader raises on a CR outside quotes and resumes mid-record; masked, the record
            # runs to its LF and is re-read from the raw text once whole
            self._bare_cr = True
            return body.replace("\r", _CR_MASK) + text[len(body) :]
        return text

    def take(self) -> _RawRecord:
        """The raw record just parsed; starts the next record."""
        # the reader asks for a line past the end of the file within a record only when a quoted
        # field is left open: any other record ends with its own last line
        text = "".join(self._pending).rstrip("\r\n")
        record = _RawRecord(text, self._invalid_utf8, self._bare_cr, self._at_end)
        self._pending, self._invalid_utf8, self._bare_cr = [], False, False
        return record


def _parsed(records: Iterator[list[str]]) -> Iterator[list[str] | str]:
    """Each record as the csv module parses it, or its error for one it cannot parse."""
    while True:
        try:
            record: list[str] | str = next(records)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the size limit; the reader resumes at the next line
            record = f"not readable as CSV: {exc}"
        yield record


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
    for parsed in _parsed(records):
        raw_record = lines.take()
        if parsed == []:  # blank line
            continue
        row_number += 1
        record, error = _checked(parsed, raw_record, len(header))
        if error is None:
            good.append(record)
            row_numbers.append(row_number)
        else:
            rejected.append(RejectedRecord(row_number, error, raw_record.text.replace("\x00", "\ufffd")))
    columns = list(zip(*good, strict=True)) if good else [() for _ in header]
    data = pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )
    return CsvFile(header, data, pa.array(row_numbers, pa.int64()), tuple(rejected))


def _checked(parsed: list[str] | str, raw: _RawRecord, expected: int) -> tuple[list[str], str | None]:
    """The record's values, and why it is rejected if it is."""
    if isinstance(parsed, str):
        return [], parsed
    if raw.unclosed:
        return [], "a quoted field is not closed before the end of the file (raw_line runs to it)"
    if raw.bare_cr:  # the reader saw the CRs masked; the raw text tells whether they are quoted
        try:
            parsed = next(csv.reader([raw.text], strict=False))
        except csv.Error:
            return [], "a bare carriage return (CR) outside quotes: only LF or CRLF end a record"
    return parsed, _record_error(parsed, expected, raw.invalid_utf8)


def _record_error(record: list[str], expected: int, invalid_utf8: bool) -> str | None:
    if invalid_utf8:
        return "not valid UTF-8 (raw_line shows U+FFFD for the bad bytes)"
    if any("\x00" in value for value in record):
        return "contains a NUL character, which Postgres text cannot store (raw_line shows U+FFFD)"
    if len(record) != expected:
        return f"expected {expected} fields, found {len(record)}"
    return None
