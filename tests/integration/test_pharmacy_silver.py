"""Silver of the payers' pharmacy and eligibility files on a real Postgres: a hand-made landing
zone (dirt of every kind, a reversal, a file delivered twice) goes through the feed loader and
the dbt staging, quarantine and population-health models; their data and unit tests run too.

The EHR side is not simulated here: the two clinical tables the silver models read
(silver.cdm_practitioners for the prescriber, silver.cdm_patients for a relationships test) are
small stand-ins created by the test, and dbt builds only the pharmacy/eligibility nodes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml

from ingestion.feeds.pipeline import load_feeds_to_bronze
from ingestion.landing import batch_dir, batch_id_for, write_manifest
from warehouse.keys import gold_key, keyed_hash
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
TABLES = ("pharmacy__fills", "eligibility__member_months")
MODELS = (
    "stg_pharmacy__fills",
    "quarantine_pharmacy__fills",
    "int_pharmacy_fills_current",
    "stg_eligibility__member_months",
    "quarantine_eligibility__member_months",
    "int_member_months",
)

FILL_HEADER = (
    "rx_claim_id",
    "claim_status",
    "member_id",
    "patient_account",
    "prescriber_npi",
    "ndc",
    "drug_name",
    "therapeutic_class",
    "fill_date",
    "days_supply",
    "quantity",
    "paid_amount",
    "patient_paid_amount",
)
ELIGIBILITY_HEADER = ("member_id", "patient_account", "eligibility_month", "product", "plan_type")
ATHENA_NPI, EPIC_NPI, UNKNOWN_NPI = "1234567893", "1987654328", "1555555550"  # valid check digits


def _fill(rx: str, status: str = "paid", **values: str) -> dict[str, str]:
    row = {
        "rx_claim_id": rx,
        "claim_status": status,
        "member_id": "BCB000001234",
        "patient_account": "ATH0001234",
        "prescriber_npi": ATHENA_NPI,
        "ndc": "00093104801",
        "drug_name": "atorvastatin 20 mg tablet",
        "therapeutic_class": "statin",
        "fill_date": "2025-01-05",
        "days_supply": "30",
        "quantity": "30",
        "paid_amount": "12.50",
        "patient_paid_amount": "5.00",
    }
    return {**row, **values}


# BCBS January: every kind of dirt once, a fill with its reversal, a copy of a row
BCBS_JANUARY = [
    _fill("RX0000000001"),
    _fill("RX0000000002", therapeutic_class="diabetes", days_supply="90", paid_amount="40.00"),
    _fill("RX0000000002", "reversed", therapeutic_class="diabetes", days_supply="90", paid_amount="40.00"),
    _fill("RX0000000003", patient_account="EPC0000077", prescriber_npi=EPIC_NPI, paid_amount="7.25"),
    _fill("RX0000000004", fill_date="2025-01-32"),  # invalid_date
    _fill("RX0000000005", paid_amount="12,50"),  # invalid_amount
    _fill("RX0000000006", days_supply="0"),  # invalid_days_supply
    _fill("RX0000000007", prescriber_npi="1234567890"),  # invalid_npi (check digit)
    _fill("RX0000000001"),  # duplicate_row
]
BCBS_FEBRUARY = [
    _fill("RX0000000010", prescriber_npi=UNKNOWN_NPI, fill_date="2025-02-03", paid_amount="3.10")
]
UHC_JANUARY = [
    _fill("RX0000000001", member_id="UHC000000077", patient_account="EPC0000077", paid_amount="9.99")
]
FILL_DIRT = {
    "invalid_date": 1,
    "invalid_amount": 1,
    "invalid_days_supply": 1,
    "invalid_npi": 1,
    "duplicate_row": 1,
}


def _member(
    member: str, account: str, month: str, product: str = "commercial", plan: str = "PPO"
) -> dict[str, str]:
    return dict(zip(ELIGIBILITY_HEADER, (member, account, month, product, plan), strict=True))


BCBS_ROSTER_JANUARY = [
    _member("BCB000001234", "ATH0001234", "2025-01-01"),
    _member("BCB000000077", "EPC0000077", "2025-01-01", plan="HMO"),
    _member("BCB000000077", "EPC0000077", "2025-01-01", plan="HMO"),  # duplicate_row
    _member("BCB000000099", "ATH0000099", "2025-1-01"),  # invalid_date
]
BCBS_ROSTER_FEBRUARY = [
    _member("BCB000001234", "ATH0001234", "2025-02-01"),
    _member("BCB000005555", "ATH0001234", "2025-02-01"),  # the same patient listed twice
]
MEDICARE_ROSTER_JANUARY = [_member("MED000001234", "ATH0001234", "2025-01-01", "medicare", "")]


def _csv(header: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _land(
    settings: Settings, folder: str, entity: str, name: str, arrival: date, text: str, dirt: dict
) -> None:
    where = batch_dir(
        settings.landing_dir, settings.tenant, settings.environment, folder, entity, batch_id_for(arrival)
    )
    where.mkdir(parents=True)
    (where / name).write_text(text, encoding="utf-8", newline="")
    write_manifest(where, {name: text.count("\n") - 1}, {"dirty": dirt})


def _land_everything(settings: Settings) -> None:
    january = _csv(FILL_HEADER, BCBS_JANUARY)
    for arrival in (date(2025, 2, 6), date(2025, 2, 8)):  # the same bytes delivered twice
        _land(settings, "pharmacy_bcbs", "fills", "pharmacy_bcbs_2025-01.csv", arrival, january, FILL_DIRT)
    _land(settings, "pharmacy_bcbs", "fills", "pharmacy_bcbs_2025-02.csv", date(2025, 3, 5),
          _csv(FILL_HEADER, BCBS_FEBRUARY), {})  # fmt: skip
    _land(settings, "pharmacy_uhc", "fills", "pharmacy_uhc_2025-01.csv", date(2025, 2, 7),
          _csv(FILL_HEADER, UHC_JANUARY), {})  # fmt: skip
    roster = _csv(ELIGIBILITY_HEADER, BCBS_ROSTER_JANUARY)
    for arrival in (date(2025, 1, 1), date(2025, 1, 2)):
        _land(settings, "eligibility_bcbs", "member_months", "eligibility_bcbs_2025-01.csv", arrival, roster,
              {"invalid_date": 1, "duplicate_row": 1})  # fmt: skip
    _land(settings, "eligibility_bcbs", "member_months", "eligibility_bcbs_2025-02.csv", date(2025, 2, 1),
          _csv(ELIGIBILITY_HEADER, BCBS_ROSTER_FEBRUARY), {})  # fmt: skip
    medicare = _csv(ELIGIBILITY_HEADER, MEDICARE_ROSTER_JANUARY)
    _land(settings, "eligibility_medicare", "member_months", "eligibility_medicare_2025-01.csv",
          date(2025, 1, 1), medicare, {})  # fmt: skip


def _feed_config(tmp_path: Path) -> Path:
    """The real load config's pharmacy and eligibility entries (nothing else lands here)."""
    config = yaml.safe_load((REPO_ROOT / "ingestion" / "load_config.yaml").read_text(encoding="utf-8"))
    feeds = [feed for feed in config["feeds"] if feed["table"] in TABLES]
    assert {feed["source_system"] for feed in feeds} >= {"bcbs", "uhc", "medicare"}
    path = tmp_path / "load_config.yaml"
    path.write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    return path


_PATIENTS = (("athena", "1234"), ("epic", "77"), ("athena", "99"))


def _key(settings: Settings, natural_key: str) -> str:
    """dbt's surrogate_key, recomputed with the warehouse's gold key."""
    return keyed_hash(gold_key(settings), natural_key)


def _ehr_stand_ins(settings: Settings) -> None:
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        conn.execute(
            "create table silver.cdm_practitioners"
            " (practitioner_key text, source_system text, practitioner_id text, npi text)"
        )
        conn.execute(
            "insert into silver.cdm_practitioners values (%s, 'athena', '5', %s), (%s, 'epic', '8', %s)",
            (_key(settings, "athena|5"), ATHENA_NPI, _key(settings, "epic|8"), EPIC_NPI),
        )
        conn.execute(
            "create table silver.cdm_patients (patient_key text, source_system text, patient_id text)"
        )
        conn.cursor().executemany(
            "insert into silver.cdm_patients values (%s, %s, %s)",
            [(_key(settings, f"{system}|{id_}"), system, id_) for system, id_ in _PATIENTS],
        )


def _query(settings: Settings, text: str) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(text).fetchall()


@pytest.fixture
def silver(scratch_warehouse: Settings, tmp_path: Path) -> tuple[Settings, dict]:
    """The scratch warehouse after the load and the dbt build; returns it with dbt's run results."""
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    _land_everything(settings)
    loaded = load_feeds_to_bronze(settings, config_path=_feed_config(tmp_path))
    assert loaded.rows_by_table["pharmacy__fills"] == 20
    assert loaded.rows_by_table["eligibility__member_months"] == 11
    _ehr_stand_ins(settings)

    target = tmp_path / "dbt_target"
    dbt = Path(sys.executable).with_name("dbt")
    build = subprocess.run(
        [str(dbt), "build", "--select", *MODELS, "source:pharmacy", "source:eligibility",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(tmp_path / "dbt_logs")],
        env={**os.environ, **settings.dbt_env()}, capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:]
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    return settings, results


def test_pharmacy_and_eligibility_silver_reconcile_and_apply_the_rules(silver: tuple[Settings, dict]) -> None:
    settings, results = silver

    # every model built; every data test, unit test and reconciliation test ran and passed
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    assert all(status in {"success", "pass"} for status in statuses.values()), statuses
    ran = {uid.split(".")[-1] for uid in statuses}
    assert set(MODELS) <= ran
    assert {
        "stg_pharmacy__fills_applies_the_rules_in_order",
        "stg_eligibility__member_months_applies_the_rules_in_order",
        "int_pharmacy_fills_current_keeps_current_paid_fills_once",
        "int_member_months_counts_a_patient_month_once",
        "assert_pharmacy_fill_counts_reconcile",
        "assert_eligibility_member_month_counts_reconcile",
    } <= ran
    assert any(uid.startswith("test.carehouse.reconciles_with_bronze") for uid in statuses)

    # bronze = staged = usable + quarantined; a file delivered twice is superseded, not dirt
    for table, model, quarantine, usable, quarantined in (
        ("pharmacy__fills", "stg_pharmacy__fills", "quarantine_pharmacy__fills", 10, 10),
        (
            "eligibility__member_months",
            "stg_eligibility__member_months",
            "quarantine_eligibility__member_months",
            7,
            4,
        ),
    ):
        [(bronze, staged, ok, bad, held)] = _query(
            settings,
            f"select (select count(*) from bronze.{table}), count(*),"
            " count(*) filter (where quarantine_reason is null),"
            " count(*) filter (where quarantine_reason is not null),"
            f" (select count(*) from silver.{quarantine}) from silver.{model}",
        )
        assert (bronze, staged, ok, bad, held) == (bronze, bronze, usable, quarantined, quarantined), table

    reasons = _query(
        settings,
        "select quarantine_reason, is_superseded, count(*) from silver.quarantine_pharmacy__fills"
        " group by 1, 2 order by 1, 2",
    )
    assert reasons == [
        (reason, superseded, 1) for reason in sorted(FILL_DIRT) for superseded in (False, True)
    ]
    assert _query(
        settings,
        "select quarantine_reason, is_superseded, count(*) from silver.quarantine_eligibility__member_months"
        " group by 1, 2 order by 1, 2",
    ) == [
        ("duplicate_row", False, 1),
        ("duplicate_row", True, 1),
        ("invalid_date", False, 1),
        ("invalid_date", True, 1),
    ]
    assert _query(
        settings,
        "select file_date, count(*) from silver.stg_pharmacy__fills"
        " where payer_code = 'BCBS' and file_month = '2025-01-01' and is_superseded group by 1",
    ) == [(date(2025, 2, 6), 9)]

    # current fills: newest delivery only, the reversed fill gone, prescribers and patients linked
    rows = _query(
        settings,
        "select payer_code, rx_claim_id, patient_system, patient_id, patient_key, payer_key,"
        " practitioner_key, fill_month, days_supply, paid_amount, file_date"
        " from silver.int_pharmacy_fills_current order by payer_code, rx_claim_id",
    )
    fills = [
        (
            payer,
            claim,
            system,
            id_,
            patient_key == _key(settings, f"{system}|{id_}"),
            payer_key == _key(settings, payer),
            *rest,
        )
        for payer, claim, system, id_, patient_key, payer_key, *rest in rows
    ]
    athena_5, epic_8 = _key(settings, "athena|5"), _key(settings, "epic|8")
    jan, feb, keys_ok = date(2025, 1, 1), date(2025, 2, 1), (True, True)
    feb_8, feb_7, mar_5 = date(2025, 2, 8), date(2025, 2, 7), date(2025, 3, 5)
    assert fills == [
        ("BCBS", "RX0000000001", "athena", "1234", *keys_ok, athena_5, jan, 30, Decimal("12.50"), feb_8),
        ("BCBS", "RX0000000003", "epic", "77", *keys_ok, epic_8, jan, 30, Decimal("7.25"), feb_8),
        ("BCBS", "RX0000000010", "athena", "1234", *keys_ok, None, feb, 30, Decimal("3.10"), mar_5),
        # athena's NPI is no epic practitioner: the prescriber stays unknown
        ("UHC", "RX0000000001", "epic", "77", *keys_ok, None, jan, 30, Decimal("9.99"), feb_7),
    ]  # fmt: skip

    # member months: newest roster per payer-month, a patient listed twice counts once
    months = _query(
        settings,
        "select payer_code, patient_id, eligibility_month, product, plan_type"
        " from silver.int_member_months order by 1, 3, 2",
    )
    assert months == [
        ("BCBS", "1234", date(2025, 1, 1), "commercial", "PPO"),
        ("BCBS", "77", date(2025, 1, 1), "commercial", "HMO"),
        ("BCBS", "1234", date(2025, 2, 1), "commercial", "PPO"),
        ("MEDICARE", "1234", date(2025, 1, 1), "medicare", None),
    ]
    column_types = _query(
        settings,
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = 'silver' and table_name in ('int_pharmacy_fills_current', 'int_member_months')"
        " and column_name in"
        " ('days_supply', 'quantity', 'paid_amount', 'fill_date', 'eligibility_month', 'patient_id')"
        " order by 1, 2",
    )
    assert column_types == [
        ("int_member_months", "eligibility_month", "date"),
        ("int_member_months", "patient_id", "text"),
        ("int_pharmacy_fills_current", "days_supply", "integer"),
        ("int_pharmacy_fills_current", "fill_date", "date"),
        ("int_pharmacy_fills_current", "paid_amount", "numeric"),
        ("int_pharmacy_fills_current", "patient_id", "text"),
        ("int_pharmacy_fills_current", "quantity", "numeric"),
    ]
