"""The metadata-driven feed loader on a real Postgres: lineage, exactly once, rejected rows,
schema evolution, incomplete batches, inactive feeds, onboarding a feed by config alone."""

from __future__ import annotations

import csv
import io
import os
import random
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest
import yaml
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.feeds.file_log import FileReport
from ingestion.feeds.pipeline import load_feeds_to_bronze
from ingestion.landing import batch_id_for, write_manifest
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

TX_HEADER = (
    "transaction_id,account_number,patient_id,encounter_id,charge_id,line_number,transaction_type,cpt_code,"
    "service_date,posting_date,amount,payer_code,payment_source,provider_id,dept_id,modified_at"
)
CLAIM_HEADER = (
    "claim_id,claim_line,line_control_number,patient_account,provider_npi,service_date,submitted_date,"
    "paid_date,billed_amount,allowed_amount,paid_amount,claim_status,denial_reason"
)


def _feed(system: str, entity: str, table: str, path: str, **extra: object) -> dict[str, object]:
    incremental = {"load_type": "incremental", "watermark_column": "modified_at"}
    return {"source_system": system, "entity": entity, "table": table, "path": path, **incremental, **extra}


def _tx_feed(system: str, **extra: object) -> dict[str, object]:
    path = str(extra.pop("path", f"billing_{system}/transactions/*/transactions.csv"))
    return _feed(
        system, "transactions", "billing__transactions", path, primary_key=["transaction_id"], **extra
    )


def _claims_feed(payer: str) -> dict[str, object]:
    path = f"claims_{payer}/claim_lines/*/claims_{payer}_*.csv"
    return _feed(
        payer,
        "claim_lines",
        "claims__claim_lines",
        path,
        watermark_column="submitted_date",
        primary_key=["claim_id", "claim_line"],
    )


def _config(tmp_path: Path, *feeds: dict[str, object]) -> Path:
    path = tmp_path / f"load_config_{len(list(tmp_path.glob('load_config_*')))}.yaml"
    path.write_text(yaml.safe_dump({"feeds": list(feeds)}), encoding="utf-8")
    return path


def _batch(settings: Settings, folder: str, day: date, files: dict[str, str], complete: bool = True) -> Path:
    where = settings.landing_dir / settings.tenant / settings.environment / folder / batch_id_for(day)
    where.mkdir(parents=True)
    for name, text in files.items():
        (where / name).write_text(text, encoding="utf-8", newline="")
    if complete:
        write_manifest(where, {name: text.count("\n") for name, text in files.items()}, {"test": True})
    return where


def _tx_rows(*ids: int, modified: str = "2025-03-01T10:00:00Z") -> str:
    lines = [TX_HEADER]
    for i in ids:
        lines.append(
            f"{i},ATH0000001,P1,E1,{i},1,CHARGE,99213,2025-02-30,03/01/2025,1O0.00,BCBS,,PR1,1,{modified}"
        )
    return "\r\n".join(lines) + "\r\n"


def _query(settings: Settings, text: str) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(text).fetchall()


@pytest.fixture
def warehouse(scratch_warehouse: Settings) -> Settings:
    ensure_schemas_and_roles(scratch_warehouse)
    return scratch_warehouse


def test_files_land_once_with_lineage(warehouse: Settings, tmp_path: Path) -> None:
    settings = warehouse
    config = _config(tmp_path, _tx_feed("athena"), _tx_feed("epic", active=False))
    _batch(settings, "billing_athena/transactions", date(2025, 3, 1), {"transactions.csv": _tx_rows(7, 8, 9)})
    late = _batch(
        settings,
        "billing_athena/transactions",
        date(2025, 3, 2),
        {"transactions.csv": _tx_rows(10, modified="2025-03-02T09:00:00Z")},
        complete=False,
    )
    _batch(settings, "billing_epic/transactions", date(2025, 3, 1), {"transactions.csv": _tx_rows(1)})

    reports: list[FileReport] = []
    first = load_feeds_to_bronze(settings, config_path=config, on_file=reports.append)
    assert (first.source, first.files, first.rows, first.rejected_rows) == ("feeds", 1, 3, 0)
    assert first.rows_by_table == {"billing__transactions": 3}
    assert first.skipped_feeds == ("epic.transactions",)
    assert [f.source_file for f in reports] == [
        f"{settings.tenant}/{settings.environment}/billing_athena/transactions/20250301T060000Z/transactions.csv"
    ]
    rows = _query(
        settings,
        "select transaction_id, service_date, amount, payment_source, row_number, file_date, batch_id,"
        " source_system, entity, feed, tenant, environment, source_file, ingested_at is not null,"
        " _dlt_load_id is not null from bronze.billing__transactions order by row_number",
    )
    source_file = reports[0].source_file
    lineage = ("athena", "transactions", "athena.transactions", settings.tenant, settings.environment)
    assert rows == [
        (
            tid,
            "2025-02-30",
            "1O0.00",
            None,  # an empty field lands as NULL
            n,
            date(2025, 3, 1),
            "20250301T060000Z",
            *lineage,
            source_file,
            True,
            True,
        )
        for n, tid in enumerate(("7", "8", "9"), start=1)
    ]

    again = load_feeds_to_bronze(settings, config_path=config)
    assert again.files == 0 and again.rows_by_table["billing__transactions"] == 0

    write_manifest(late, {"transactions.csv": 2}, {})  # the late batch completes
    third = load_feeds_to_bronze(settings, config_path=config)
    assert third.rows_by_table["billing__transactions"] == 1
    log = _query(
        settings,
        "select feed, table_name, load_type, watermark_column, max_watermark, primary_key, rows_loaded,"
        " rows_rejected, columns->>0, columns_added, columns_missing, previous_source_file"
        " from bronze.feeds__file_log order by file_date",
    )
    assert [r[:8] for r in log] == [
        (
            "athena.transactions",
            "billing__transactions",
            "incremental",
            "modified_at",
            m,
            ["transaction_id"],
            n,
            0,
        )
        for m, n in (("2025-03-01T10:00:00Z", 3), ("2025-03-02T09:00:00Z", 1))
    ]
    assert [r[8:] for r in log] == [("transaction_id", [], [], None), ("transaction_id", [], [], source_file)]
    assert _query(
        settings, "select count(*) from bronze.billing__transactions where source_system = 'epic'"
    ) == [(0,)]


def test_ragged_rows_are_set_aside_and_the_rest_lands(warehouse: Settings, tmp_path: Path) -> None:
    settings = warehouse
    config = _config(tmp_path, _tx_feed("athena"))
    lines = _tx_rows(1, 2, 3, 4).splitlines()
    lines[2] = lines[2] + ",extra"  # row 2 has one field too many
    lines[3] = "3,ATH0000001,P1"  # row 3 has too few
    _batch(
        settings,
        "billing_athena/transactions",
        date(2025, 3, 1),
        {"transactions.csv": "\n".join(lines) + "\n"},
    )

    result = load_feeds_to_bronze(settings, config_path=config)
    assert result.rows_by_table["billing__transactions"] == 2
    assert result.rejected_rows == 2
    assert _query(
        settings, "select transaction_id, row_number from bronze.billing__transactions order by 2"
    ) == [
        ("1", 1),
        ("4", 4),
    ]
    rejected = _query(
        settings,
        "select row_number, error, raw_line, table_name, feed, file_date from bronze.feeds__rejected_row"
        " order by row_number",
    )
    assert rejected == [
        (
            2,
            "expected 16 fields, found 17",
            lines[2],
            "billing__transactions",
            "athena.transactions",
            date(2025, 3, 1),
        ),
        (
            3,
            "expected 16 fields, found 3",
            lines[3],
            "billing__transactions",
            "athena.transactions",
            date(2025, 3, 1),
        ),
    ]
    assert _query(settings, "select rows_loaded, rows_rejected from bronze.feeds__file_log") == [(2, 2)]
    assert load_feeds_to_bronze(settings, config_path=config).files == 0


def test_records_the_csv_module_cannot_parse_are_set_aside(warehouse: Settings, tmp_path: Path) -> None:
    settings = warehouse
    config = _config(tmp_path, _tx_feed("athena"))
    lines = _tx_rows(1, 2, 3, 4).split("\r\n")
    lines[2] = lines[2].replace(",BCBS,", ",BC\rBS,")  # row 2: a bare CR in a CRLF file
    lines[4] = lines[4].replace(",2025-03-01T", ',"2025-03-01T')  # row 4: a quote never closed
    _batch(
        settings, "billing_athena/transactions", date(2025, 3, 1), {"transactions.csv": "\r\n".join(lines)}
    )

    result = load_feeds_to_bronze(settings, config_path=config)
    assert result.rows_by_table["billing__transactions"] == 2
    assert _query(
        settings, "select transaction_id, row_number from bronze.billing__transactions order by 2"
    ) == [("1", 1), ("3", 3)]
    rejected = _query(
        settings, "select row_number, error, raw_line from bronze.feeds__rejected_row order by row_number"
    )
    assert [(n, raw) for n, _, raw in rejected] == [(2, lines[2]), (4, lines[4])]
    assert "carriage return" in rejected[0][1] and "not closed" in rejected[1][1]


def _claims(header: str, *rows: str) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_schema_change_loads_and_is_logged(warehouse: Settings, tmp_path: Path) -> None:
    settings = warehouse
    config = _config(tmp_path, _claims_feed("bcbs"))
    old = _claims(
        CLAIM_HEADER, "ATH-E1,1,11,ATH0000001,1234567893,2024-06-03,2024-06-05,,100.00,0.00,0.00,denied,CO-16"
    )
    new_header = CLAIM_HEADER.replace("denial_reason", "denial_reason_code") + ",plan_type"
    new = _claims(
        new_header, "ATH-E2,1,12,ATH0000002,1234567893,2024-07-01,2024-07-02,,50.00,0,0,denied,CO-97,HMO"
    )
    _batch(settings, "claims_bcbs/claim_lines", date(2024, 7, 10), {"claims_bcbs_2024-06.csv": old})
    _batch(settings, "claims_bcbs/claim_lines", date(2024, 8, 10), {"claims_bcbs_2024-07.csv": new})

    result = load_feeds_to_bronze(settings, config_path=config)
    assert result.rows_by_table["claims__claim_lines"] == 2
    [change] = result.schema_changes
    assert change.columns_added == ("denial_reason_code", "plan_type")
    assert change.columns_missing == ("denial_reason",)
    rows = _query(
        settings,
        "select claim_id, denial_reason, denial_reason_code, plan_type, source_system, entity"
        " from bronze.claims__claim_lines order by claim_id",
    )
    assert rows == [
        ("ATH-E1", "CO-16", None, None, "bcbs", "claim_lines"),
        ("ATH-E2", None, "CO-97", "HMO", "bcbs", "claim_lines"),
    ]
    log = _query(
        settings,
        "select columns_added, columns_missing, max_watermark, columns->>-1 from bronze.feeds__file_log"
        " order by file_date",
    )
    assert log == [
        ([], [], "2024-06-05", "denial_reason"),
        (["denial_reason_code", "plan_type"], ["denial_reason"], "2024-07-02", "plan_type"),
    ]


def test_a_new_payer_is_one_config_entry(warehouse: Settings, tmp_path: Path) -> None:
    settings = warehouse
    row = "ATH-E1,1,11,ATH0000001,1234567893,2024-06-03,2024-06-05,2024-06-20,100.00,80.00,80.00,paid,"
    _batch(
        settings,
        "claims_bcbs/claim_lines",
        date(2024, 7, 1),
        {"claims_bcbs_2024-06.csv": _claims(CLAIM_HEADER, row)},
    )
    cigna = {
        "claims_cigna_2024-05.csv": _claims(CLAIM_HEADER, row.replace("E1", "E5")),
        "claims_cigna_2024-06.csv": _claims(CLAIM_HEADER, row.replace("E1", "E6"), row.replace("E1", "E7")),
    }
    _batch(settings, "claims_cigna/claim_lines", date(2024, 7, 1), cigna)  # two months, one batch
    writing = {"claims_cigna_2024-07.csv": _claims(CLAIM_HEADER, row.replace("E1", "E8"))}
    _batch(settings, "claims_cigna/claim_lines", date(2024, 8, 1), writing, complete=False)

    before = load_feeds_to_bronze(settings, config_path=_config(tmp_path, _claims_feed("bcbs")))
    assert before.rows_by_table["claims__claim_lines"] == 1
    # cigna's complete files are reported, not silently ignored; its batch in writing is not
    assert before.unclaimed_folders == {"claims_cigna/claim_lines": 2}

    reports: list[FileReport] = []
    after = load_feeds_to_bronze(
        settings,
        config_path=_config(tmp_path, _claims_feed("bcbs"), _claims_feed("cigna")),
        on_file=reports.append,
    )
    assert [f.source_file.rsplit("/", 1)[1] for f in reports] == list(cigna)
    assert after.unclaimed_folders == {}
    assert _query(
        settings,
        "select source_system, feed, count(*) from bronze.claims__claim_lines group by 1, 2 order by 1",
    ) == [("bcbs", "bcbs.claim_lines", 1), ("cigna", "cigna.claim_lines", 3)]


def test_header_only_file_is_logged_once(warehouse: Settings, tmp_path: Path) -> None:
    settings = warehouse
    config = _config(tmp_path, _tx_feed("athena"))
    _batch(settings, "billing_athena/transactions", date(2025, 3, 1), {"transactions.csv": TX_HEADER + "\n"})
    reports: list[FileReport] = []
    first = load_feeds_to_bronze(settings, config_path=config, on_file=reports.append)
    assert first.files == 1 and first.rows == 0
    assert [(f.rows_loaded, f.rows_rejected) for f in reports] == [(0, 0)]
    assert load_feeds_to_bronze(settings, config_path=config).files == 0
    assert _query(settings, "select rows_loaded, max_watermark from bronze.feeds__file_log") == [(0, None)]


def test_header_colliding_with_lineage_fails_naming_file_and_column(
    warehouse: Settings, tmp_path: Path
) -> None:
    settings = warehouse
    config = _config(tmp_path, _tx_feed("athena"))
    text = TX_HEADER.replace("dept_id", "Row Number") + "\n"
    _batch(settings, "billing_athena/transactions", date(2025, 3, 1), {"transactions.csv": text})
    with pytest.raises(PipelineStepFailed) as failure:
        load_feeds_to_bronze(settings, config_path=config)
    message = str(failure.value)
    assert "billing_athena/transactions/20250301T060000Z/transactions.csv" in message
    assert "'Row Number'" in message and "'row_number'" in message


def _transactions_csv(rows: int, seed: int = 7) -> str:
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TX_HEADER.split(","))
    types = ("CHARGE", "PAYMENT", "ADJUSTMENT", "WRITE_OFF")
    for i in range(1, rows + 1):
        writer.writerow(
            [
                i,
                f"ATH{rnd.randrange(10**7):07d}",
                f"P{rnd.randrange(10**5)}",
                f"E{rnd.randrange(10**6)}",
                i,
                rnd.randint(1, 5),
                rnd.choice(types),
                rnd.randint(99201, 99499),
                f"2025-01-{rnd.randint(1, 28):02d}",
                f"2025-02-{rnd.randint(1, 28):02d}",
                f"{rnd.random() * 1000:.2f}",
                rnd.choice(("BCBS", "UHC", "AETNA", "MEDICARE")),
                rnd.choice(("payer", "patient", "")),
                f"PR{rnd.randrange(500)}",
                rnd.randint(1, 20),
                f"2025-02-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:00:00Z",
            ]
        )
    return out.getvalue()


def test_large_transactions_file(warehouse: Settings, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """~200k rows in one file: several Arrow batches, several COPY files. Prints rows/s (not asserted)."""
    settings = warehouse
    rows = 200_000
    _batch(
        settings,
        "billing_athena/transactions",
        date(2025, 3, 1),
        {"transactions.csv": _transactions_csv(rows)},
    )
    started = time.perf_counter()
    result = load_feeds_to_bronze(settings, config_path=_config(tmp_path, _tx_feed("athena")))
    seconds = time.perf_counter() - started
    assert result.rows_by_table["billing__transactions"] == rows
    assert _query(
        settings, "select count(distinct row_number), max(row_number) from bronze.billing__transactions"
    ) == [(rows, rows)]
    with capsys.disabled():
        print(f"\nfeeds: {rows:,} transaction rows in {seconds:.2f}s = {rows / seconds:,.0f} rows/s")


def test_folder_that_is_no_batch_id_dates_rows_by_file_mtime(warehouse: Settings, tmp_path: Path) -> None:
    settings = warehouse
    folder = settings.landing_dir / settings.tenant / settings.environment / "partner_drop"
    folder.mkdir(parents=True)
    (folder / "transactions.csv").write_text(_tx_rows(1), encoding="utf-8")
    os.utime(folder / "transactions.csv", (1_700_000_000, 1_700_000_000))  # 2023-11-14 UTC
    write_manifest(folder, {"transactions.csv": 2}, {})
    feed = _tx_feed("partner", path="partner_drop/*.csv")
    load_feeds_to_bronze(settings, config_path=_config(tmp_path, feed))
    assert _query(settings, "select batch_id, file_date, row_number from bronze.billing__transactions") == [
        ("partner_drop", date(2023, 11, 14), 1)
    ]
