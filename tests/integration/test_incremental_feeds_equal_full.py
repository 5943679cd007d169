"""Incremental silver of the non-EHR sources equals a full refresh, row for row.

Day 1 lands and loads ADT micro-batches, billing extracts and transactions, payer claim,
pharmacy and eligibility files; dbt builds their silver models. Day 2 brings more of each,
including what the incremental models must get right: a payer file re-sent for a month already
loaded (it supersedes the earlier file: a claim line changes status, a fill is reversed), a
billing transaction copy in a batch dated BEFORE the one already loaded (the earlier copy is now
the first arrival), the next day's billing reference extracts and a day of ADT stays that
continue day 1's. dbt builds incrementally; the tables are copied aside, then rebuilt with
``--full-refresh``, and every incremental model among them (read from dbt's manifest) must hold
the same multiset of rows (EXCEPT ALL both ways); a further incremental build without new loads
changes nothing. (tests/integration/test_incremental_equals_full.py does the same for the EHR.)

The EHR is not simulated: the clinical tables these models read are small stand-ins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ingestion.adt.pipeline import load_adt_to_bronze
from ingestion.adt.simulator import daily as adt_daily
from ingestion.adt.simulator import simulate_adt_day
from ingestion.feeds.pipeline import load_feeds_to_bronze
from ingestion.landing import batch_dir, batch_id_for, write_manifest
from tests.integration.test_pharmacy_silver import (
    BCBS_FEBRUARY,
    BCBS_JANUARY,
    BCBS_ROSTER_FEBRUARY,
    BCBS_ROSTER_JANUARY,
    ELIGIBILITY_HEADER,
    FILL_HEADER,
    MEDICARE_ROSTER_JANUARY,
    UHC_JANUARY,
    _csv,
    _ehr_stand_ins,
    _fill,
)
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SELECTION = (
    "staging.adt staging.billing staging.claims staging.pharmacy staging.eligibility"
    " quarantine_adt__events quarantine_billing__providers quarantine_billing__transactions"
    " quarantine_claims__claim_lines quarantine_pharmacy__fills quarantine_eligibility__member_months"
    " intermediate.adt intermediate.revenue intermediate.population_health"
)
SEEDS = "hospital_departments department_aliases payers"  # what these models read
COPY_SCHEMA = "incremental_copy"

TX_HEADER = (
    "transaction_id,account_number,patient_id,encounter_id,charge_id,line_number,transaction_type,cpt_code,"
    "service_date,posting_date,amount,payer_code,payment_source,provider_id,dept_id,modified_at"
)
CLAIM_HEADER = (
    "claim_id,claim_line,line_control_number,patient_account,provider_npi,service_date,submitted_date,"
    "paid_date,billed_amount,allowed_amount,paid_amount,claim_status,denial_reason"
)
DEPARTMENT_HEADER = "dept_id,dept_name,hospital_id,department_code,modified_at"
PROVIDER_HEADER = "provider_id,npi,first_name,last_name,specialty,dept_id,modified_at"


def _tx(ids: list[int], day: str, kind: str = "CHARGE") -> str:
    lines = [TX_HEADER]
    for i in ids:
        amount = "-20.00" if kind == "CHARGE" and i == 13 else "100.00"  # 13: a negative charge
        lines.append(
            f"T{i},ATH000{i:04d},{i},{i},C{i},1,{kind},99213,{day},{day},{amount},BCBS,,5,1,{day}T10:00:00Z"
        )
    return "\n".join(lines) + "\n"


def _claims(lines: list[tuple[str, str, str]]) -> str:
    rows = [CLAIM_HEADER]
    for claim, line, status in lines:
        paid, denial = ("2025-02-10", "") if status == "paid" else ("", "CO-16" if status == "denied" else "")
        rows.append(
            f"{claim},{line},T{claim[-2:]},ATH0000012,1234567893,2025-01-05,2025-01-08,{paid},"
            f"100.00,80.00,{'80.00' if paid else '0.00'},{status},{denial}"
        )
    return "\n".join(rows) + "\n"


def _departments(day: str, *extra: str) -> str:
    rows = [DEPARTMENT_HEADER, f"1,Cardiology,1,CAR,{day}T00:00:00Z", *extra]
    return "\n".join(rows) + "\n"


def _providers(day: str, *extra: str) -> str:
    rows = [PROVIDER_HEADER, f"5,1234567893,Ann,Lee,cardiology,1,{day}T00:00:00Z", *extra]
    return "\n".join(rows) + "\n"


def _adt(partition: int, offset: int, **event: str) -> str:
    event = {
        "stay_id": "ST1",
        "patient_id": "P9000001",
        "hospital_id": "1",
        "department": "Surgery",
        "admission_time": "2025-03-01T08:00:00Z",
        "bed_id": "H1-SUR-1",
        "age": "54",
        **event,
    }
    return json.dumps(
        {
            "topic": "adt.events",
            "partition": partition,
            "offset": offset,
            "key": "P9000001",
            "producer_time": "2025-03-01T10:00:00+00:00",
            "event": event,
        }
    )


def _adt_batch(settings: Settings, batch_id: str, *records: str) -> None:
    """A hand-made micro-batch (sequence 0: the simulator resumes from its highest sequence)."""
    folder = batch_dir(settings.landing_dir, settings.tenant, settings.environment, "adt", "events", batch_id)
    folder.mkdir(parents=True)
    (folder / "events-0000.ndjson").write_text("".join(r + "\n" for r in records), encoding="utf-8")
    write_manifest(folder, {"events-0000.ndjson": len(records)}, {"kind": "test"})


def _land(settings: Settings, folder: str, entity: str, name: str, arrival: date, text: str) -> None:
    where = batch_dir(
        settings.landing_dir, settings.tenant, settings.environment, folder, entity, batch_id_for(arrival)
    )
    where.mkdir(parents=True)
    (where / name).write_text(text, encoding="utf-8", newline="")
    write_manifest(where, {name: text.count("\n") - 1}, {"test": True})


def _simulate_adt(settings: Settings, day: date) -> None:
    simulate_adt_day(
        settings.landing_dir,
        day=day,
        seed=7,
        tenant=settings.tenant,
        env=settings.environment,
        events_per_batch=200,
    )


def _land_day_1(settings: Settings) -> None:
    _simulate_adt(settings, date(2025, 3, 1))
    _adt_batch(
        settings,
        "20250101T000000Z-000000",
        _adt(5, 10, event_id="ST1", event_type="ADMISSION", event_time="2025-03-01T08:00:00Z"),
    )
    _land(
        settings,
        "pharmacy_bcbs",
        "fills",
        "pharmacy_bcbs_2025-01.csv",
        date(2025, 2, 6),
        _csv(FILL_HEADER, BCBS_JANUARY),
    )
    _land(
        settings,
        "pharmacy_uhc",
        "fills",
        "pharmacy_uhc_2025-01.csv",
        date(2025, 2, 7),
        _csv(FILL_HEADER, UHC_JANUARY),
    )
    _land(
        settings,
        "eligibility_bcbs",
        "member_months",
        "eligibility_bcbs_2025-01.csv",
        date(2025, 1, 1),
        _csv(ELIGIBILITY_HEADER, BCBS_ROSTER_JANUARY),
    )
    _land(
        settings,
        "eligibility_medicare",
        "member_months",
        "eligibility_medicare_2025-01.csv",
        date(2025, 1, 1),
        _csv(ELIGIBILITY_HEADER, MEDICARE_ROSTER_JANUARY),
    )
    _land(
        settings,
        "claims_bcbs",
        "claim_lines",
        "claims_bcbs_2025-01.csv",
        date(2025, 2, 3),
        _claims(
            [
                ("ATH-0000011", "1", "paid"),
                ("ATH-0000012", "1", "pending"),
                ("ATH-0000012", "2", "denied"),
                ("ATH-0000012", "2", "denied"),
            ]
        ),
    )
    _land(
        settings,
        "billing_athena",
        "transactions",
        "transactions.csv",
        date(2025, 3, 1),
        _tx([11, 12, 13, 14], "2025-03-01"),
    )
    _land(
        settings,
        "billing_athena",
        "departments",
        "departments.csv",
        date(2025, 3, 1),
        _departments("2025-03-01"),
    )
    _land(
        settings,
        "billing_athena",
        "providers",
        "providers.csv",
        date(2025, 3, 1),
        _providers("2025-03-01", "6,1234567890,Bo,Ray,surgery,1,2025-03-01T00:00:00Z"),
    )


def _land_day_2(settings: Settings) -> None:
    _simulate_adt(settings, date(2025, 3, 2))
    # ADT: day 1's admission re-sent on a lower partition (now the kept record), a transfer of
    # the stay, and a record of it without event time (quarantined: the stay's flags change)
    _adt_batch(
        settings,
        "20250101T000001Z-000000",
        _adt(4, 3, event_id="ST1", event_type="ADMISSION", event_time="2025-03-01T08:00:00Z", age="55"),
        _adt(
            5,
            11,
            event_id="ST1-T",
            event_type="TRANSFER",
            event_time="2025-03-02T09:00:00Z",
            department="Cardiology",
            from_department="Surgery",
            bed_id="H1-CAR-2",
        ),
        _adt(5, 12, event_id="ST1-X", event_type="TRANSFER"),
    )
    # BCBS re-sends January: a fill reversed since; UHC unchanged; BCBS February is new
    resent = [*BCBS_JANUARY, _fill("RX0000000001", "reversed")]
    _land(
        settings,
        "pharmacy_bcbs",
        "fills",
        "pharmacy_bcbs_2025-01.csv",
        date(2025, 2, 8),
        _csv(FILL_HEADER, resent),
    )
    _land(
        settings,
        "pharmacy_bcbs",
        "fills",
        "pharmacy_bcbs_2025-02.csv",
        date(2025, 3, 5),
        _csv(FILL_HEADER, BCBS_FEBRUARY),
    )
    _land(
        settings,
        "eligibility_bcbs",
        "member_months",
        "eligibility_bcbs_2025-01.csv",
        date(2025, 1, 2),
        _csv(ELIGIBILITY_HEADER, BCBS_ROSTER_JANUARY[:2]),
    )
    _land(
        settings,
        "eligibility_bcbs",
        "member_months",
        "eligibility_bcbs_2025-02.csv",
        date(2025, 2, 1),
        _csv(ELIGIBILITY_HEADER, BCBS_ROSTER_FEBRUARY),
    )
    # the payer re-sends January: the pending line is paid now, the denied one is gone
    _land(
        settings,
        "claims_bcbs",
        "claim_lines",
        "claims_bcbs_2025-01.csv",
        date(2025, 2, 9),
        _claims([("ATH-0000011", "1", "paid"), ("ATH-0000012", "1", "paid")]),
    )
    _land(
        settings,
        "claims_bcbs",
        "claim_lines",
        "claims_bcbs_2025-02.csv",
        date(2025, 3, 2),
        _claims([("ATH-0000014", "1", "pending")]),
    )
    # the next day's transactions (a copy of T14 among them), and a late batch dated before day 1's
    # holding T12: day 1's T12 becomes the second arrival
    _land(
        settings,
        "billing_athena",
        "transactions",
        "transactions.csv",
        date(2025, 3, 2),
        _tx([14, 15], "2025-03-02"),
    )
    _land(
        settings,
        "billing_athena",
        "transactions",
        "transactions.csv",
        date(2025, 2, 28),
        _tx([12], "2025-02-28", "PAYMENT"),
    )
    _land(
        settings,
        "billing_athena",
        "departments",
        "departments.csv",
        date(2025, 3, 2),
        _departments("2025-03-02", "2,Surgery,1,SUR,2025-03-02T00:00:00Z"),
    )
    _land(
        settings, "billing_athena", "providers", "providers.csv", date(2025, 3, 2), _providers("2025-03-02")
    )


def _load(settings: Settings) -> None:
    load_adt_to_bronze(settings)
    load_feeds_to_bronze(settings, config_path=REPO_ROOT / "ingestion" / "load_config.yaml")


def _dbt(settings: Settings, tmp_path: Path, *args: str) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    done = subprocess.run(
        [
            str(dbt),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "dbt_target"),
            "--log-path",
            str(tmp_path / "dbt_logs"),
        ],
        env={**os.environ, **settings.dbt_env()},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:]


def _incremental_models(tmp_path: Path) -> list[str]:
    manifest = json.loads((tmp_path / "dbt_target" / "manifest.json").read_text(encoding="utf-8"))
    results = json.loads((tmp_path / "dbt_target" / "run_results.json").read_text(encoding="utf-8"))
    built = {result["unique_id"] for result in results["results"]}
    return sorted(
        node["alias"]
        for uid, node in manifest["nodes"].items()
        if uid in built and node["config"].get("materialized") == "incremental"
    )


def _differences(conn: psycopg.Connection, table: str) -> tuple[int, int, int]:
    incremental = sql.Identifier(COPY_SCHEMA, table)
    full = sql.Identifier("silver", table)
    [(rows,)] = conn.execute(sql.SQL("select count(*) from {}").format(full)).fetchall()
    [(only_incremental,)] = conn.execute(
        sql.SQL("select count(*) from (select * from {} except all select * from {}) as d").format(
            incremental, full
        )
    ).fetchall()
    [(only_full,)] = conn.execute(
        sql.SQL("select count(*) from (select * from {} except all select * from {}) as d").format(
            full, incremental
        )
    ).fetchall()
    return rows, only_incremental, only_full


def test_feeds_silver_day_2_incremental_equals_full_refresh(
    scratch_warehouse: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = scratch_warehouse
    monkeypatch.setattr(adt_daily, "WARMUP_DAYS", 1)  # two days of ADT history, not fifteen
    ensure_schemas_and_roles(settings)
    _ehr_stand_ins(settings)
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        conn.execute(
            "create table silver.cdm_encounters (source_system text, patient_id text, is_completed boolean)"
        )

    _land_day_1(settings)
    _load(settings)
    seeds_and_models = ("--resource-type", "seed", "--resource-type", "model")  # data tests: other tests
    _dbt(settings, tmp_path, "build", *seeds_and_models, "--select", *SEEDS.split(), *SELECTION.split())

    _land_day_2(settings)
    _load(settings)
    _dbt(settings, tmp_path, "run", "--select", *SELECTION.split())
    models = _incremental_models(tmp_path)
    assert {"stg_adt__events", "stg_claims__claim_lines", "stg_pharmacy__fills"} <= set(models)

    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(COPY_SCHEMA)))
        for table in models:
            conn.execute(
                sql.SQL("create table {} as select * from {}").format(
                    sql.Identifier(COPY_SCHEMA, table), sql.Identifier("silver", table)
                )
            )
    _dbt(settings, tmp_path, "run", "--full-refresh", "--select", *SELECTION.split())

    with psycopg.connect(settings.dsn) as conn:
        outcome = {table: _differences(conn, table) for table in models}
    assert {table: diff for table, diff in outcome.items() if diff[1:] != (0, 0)} == {}
    assert all(rows > 0 for rows, _, _ in outcome.values()), outcome  # nothing compared empty

    # an incremental build without new loads changes nothing
    _dbt(settings, tmp_path, "run", "--select", *SELECTION.split())
    with psycopg.connect(settings.dsn) as conn:
        again = {table: _differences(conn, table) for table in models}
    assert {table: diff for table, diff in again.items() if diff[1:] != (0, 0)} == {}
