"""The feed loader's config (validation, location, tables) and its CSV reader, without a database."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ingestion.feeds.bronze import feeds_bronze_source
from ingestion.feeds.config import (
    DEFAULT_CONFIG_PATH,
    ENV_LOAD_CONFIG,
    LoadConfigError,
    feed_tables,
    load_config,
    parse_config,
)
from ingestion.feeds.csv_reader import CsvHeaderError, read_csv_file

GOOD_FEED = {
    "source_system": "athena",
    "entity": "transactions",
    "table": "billing__transactions",
    "path": "billing_athena/transactions/*/transactions.csv",
    "load_type": "incremental",
    "watermark_column": "modified_at",
    "primary_key": ["transaction_id"],
    "active": True,
}


def test_default_config_lists_the_billing_and_payer_feeds() -> None:
    config = load_config()
    assert config.source == DEFAULT_CONFIG_PATH
    by_name = {feed.name: feed for feed in config.feeds}
    billing = [f"{s}.{e}" for s in ("athena", "epic") for e in ("departments", "providers", "transactions")]
    payers = [
        f"{p}.{entity}"
        for p in ("bcbs", "uhc", "aetna", "medicare", "medicaid")
        for entity in ("claim_lines", "fills", "member_months")
    ]
    assert sorted(by_name) == sorted(billing + payers)  # cigna is onboarded by a config entry, later
    assert all(feed.active for feed in config.feeds)
    assert {(f.table, f.load_type, f.primary_key, f.watermark_column) for f in config.feeds} == {
        ("billing__departments", "full", ("dept_id",), None),
        ("billing__providers", "full", ("provider_id",), None),
        ("billing__transactions", "incremental", ("transaction_id",), "modified_at"),
        ("claims__claim_lines", "incremental", ("claim_id", "claim_line"), "submitted_date"),
        ("pharmacy__fills", "incremental", ("rx_claim_id", "claim_status"), "fill_date"),
        (
            "eligibility__member_months",
            "incremental",
            ("member_id", "eligibility_month"),
            "eligibility_month",
        ),
    }
    assert by_name["bcbs.claim_lines"].path == "claims_bcbs/claim_lines/*/claims_bcbs_*.csv"
    assert by_name["epic.transactions"].path == "billing_epic/transactions/*/transactions.csv"
    assert feed_tables(config) == [
        "billing__departments",
        "billing__providers",
        "billing__transactions",
        "claims__claim_lines",
        "eligibility__member_months",
        "pharmacy__fills",
        "feeds__file_log",
        "feeds__rejected_row",
    ]


def test_source_has_one_resource_per_table_without_touching_the_warehouse() -> None:
    config = load_config()
    source = feeds_bronze_source(config=config)  # no settings are read until the load runs
    assert list(source.resources) == feed_tables(config)
    assert all(r.write_disposition == "append" for r in source.resources.values())


def _write(tmp_path: Path, feeds: list[dict]) -> Path:
    path = tmp_path / "load_config.yaml"
    path.write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    return path


def test_config_location_argument_then_environment_then_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = _write(tmp_path, [GOOD_FEED])
    monkeypatch.setenv(ENV_LOAD_CONFIG, str(from_env))
    assert load_config().source == from_env and len(load_config().feeds) == 1
    assert load_config(DEFAULT_CONFIG_PATH).source == DEFAULT_CONFIG_PATH
    monkeypatch.delenv(ENV_LOAD_CONFIG)
    assert load_config().source == DEFAULT_CONFIG_PATH


def test_inactive_feeds_are_kept_but_produce_no_table() -> None:
    claims = {**GOOD_FEED, "source_system": "bcbs", "entity": "claim_lines", "table": "claims__claim_lines"}
    config = parse_config({"feeds": [GOOD_FEED, {**claims, "active": False}]})
    assert [f.name for f in config.inactive_feeds] == ["bcbs.claim_lines"]
    assert feed_tables(config, include_audit=False) == ["billing__transactions"]


def _with(**changes: object) -> dict:
    feed = copy.deepcopy(GOOD_FEED)
    for key, value in changes.items():
        if value is None:
            feed.pop(key)
        else:
            feed[key] = value
    return feed


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        (_with(watermark="x"), "unknown key(s) 'watermark'"),
        (_with(table=None), "missing key(s) 'table'"),
        (_with(load_type="upsert"), "load_type 'upsert' must be one of full, incremental"),
        (_with(watermark_column=None), "an incremental feed needs a watermark_column"),
        (_with(table="billing__tx; drop table x"), "is not a safe bronze table name"),
        (_with(table="Billing__transactions"), "is not a safe bronze table name"),
        (_with(table="transactions"), "is not a safe bronze table name"),
        (_with(table="feeds__file_log"), "is not a safe bronze table name"),
        (_with(table="a__" + "b" * 61), "is not a safe bronze table name"),
        (_with(path="../other_tenant/*/x.csv"), "must be a relative glob inside the landing folder"),
        (_with(path="billing/../../../etc/*.csv"), "must be a relative glob inside the landing folder"),
        (_with(path="/etc/*.csv"), "must be a relative glob inside the landing folder"),
        (_with(path="~/x.csv"), "must be a relative glob inside the landing folder"),
        (_with(path="billing_athena/transactions/*"), "must name the data files"),
        (_with(primary_key=[]), "primary_key must be a non-empty list"),
        (_with(primary_key="transaction_id"), "primary_key must be a non-empty list"),
        (_with(active="yes"), "active must be true or false"),
        (_with(source_system="Athena"), "source_system 'Athena' must be lower-case"),
    ],
)
def test_invalid_entries_are_named_in_the_error(feed: dict, message: str) -> None:
    with pytest.raises(LoadConfigError) as error:
        parse_config({"feeds": [GOOD_FEED | {"entity": "providers"}, feed]})
    text = str(error.value)
    assert message in text
    assert "feeds[1]" in text
    if "source_system" in feed and feed["source_system"] == "athena":
        assert "(athena.transactions)" in text


def test_duplicate_feed_names_both_entries(tmp_path: Path) -> None:
    path = _write(tmp_path, [GOOD_FEED, _with(table="billing__other")])
    with pytest.raises(
        LoadConfigError, match=r"feeds\[1\] \(athena\.transactions\): duplicate .* feeds\[0\]"
    ):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds: [", "not valid YAML"),
        ("feeds: []", "'feeds' must be a non-empty list"),
        ("feeds: [x]\nversion: 2", "the key 'feeds' (and optionally 'tables')"),
        ("tables: {}", "the key 'feeds'"),
        ("feeds: [x]\ntables: {billing__transactions: ''}", "non-empty descriptions"),
        ("feeds: [x]", "feeds[0]: expected a mapping"),
    ],
)
def test_malformed_documents(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "load_config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LoadConfigError) as error:
        load_config(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(LoadConfigError, match="cannot read it"):
        load_config(tmp_path / "nope.yaml")


# --- the CSV reader: every value as text, exact row numbers, bad records set aside -------------


def _read(tmp_path: Path, data: bytes):
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    return read_csv_file(path)


def test_clean_file_keeps_values_verbatim(tmp_path: Path) -> None:
    csv_file = _read(tmp_path, b'\xef\xbb\xbfid,note,amount\r\n1,"two\r\nlines",1O0.00\r\n\r\n2,,"3,5"\r\n')
    assert csv_file.header == ("id", "note", "amount")
    assert csv_file.data.to_pylist() == [
        {"id": "1", "note": "two\r\nlines", "amount": "1O0.00"},
        {"id": "2", "note": "", "amount": "3,5"},
    ]
    assert csv_file.row_numbers.to_pylist() == [1, 2]  # the blank line is not a record
    assert csv_file.rejected == ()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"a,b\n1,2\n3\n4,5,6\n7,8\n", ["expected 2 fields, found 1", "expected 2 fields, found 3"]),
        (b"a,b\n1,2\n3,\x00\n7,8\n", ["contains a NUL character"]),
        (b"a,b\n1,2\n3,\xff\n7,8\n", ["not valid UTF-8"]),
    ],
)
def test_bad_records_are_set_aside_with_exact_row_numbers(
    tmp_path: Path, data: bytes, error: list[str]
) -> None:
    csv_file = _read(tmp_path, data)
    assert csv_file.data.column("a").to_pylist() == ["1", "7"]
    last = len(error) + 2
    assert csv_file.row_numbers.to_pylist() == [1, last]
    assert [r.row_number for r in csv_file.rejected] == list(range(2, last))
    assert all(e in r.error for e, r in zip(error, csv_file.rejected, strict=True))
    assert all("\x00" not in r.raw_line and r.raw_line.startswith(("3", "4")) for r in csv_file.rejected)


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    header_only = _read(tmp_path, b"a,b\n")
    assert header_only.header == ("a", "b") and header_only.data.num_rows == 0
    empty = _read(tmp_path, b"")
    assert empty.header == () and empty.data.num_rows == 0


@pytest.mark.parametrize(("data", "message"), [(b"a,b,a\n1,2,3\n", "repeats"), (b"a,,b\n", "have no name")])
def test_unusable_headers(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(CsvHeaderError, match=message):
        _read(tmp_path, data)
