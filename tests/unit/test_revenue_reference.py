"""The reference calculation itself: each contract rule on hand-made rows, then agreement with
the simulator's own ground truth on the shared landing."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.billing.simulator import dirt
from ingestion.billing.simulator.ehr_view import read_ehr_view
from ingestion.billing.simulator.extracts import TRANSACTION_COLUMNS, account_number
from ingestion.billing.simulator.lifecycle import lifecycle
from ingestion.claims.simulator.files import COLUMNS as CLAIM_COLUMNS
from tests import revenue_reference as ref
from tests.unit.test_billing_simulator import DAYS, ENV, SEED, TENANT, revenue_landing

GOOD_NPI = "1234567893"  # Luhn-valid with the 80840 prefix


Row = dict[str, str]


def write_batch(
    root: Path, where: str, columns: tuple[str, ...], rows: list[Row], *, complete: bool = True
) -> None:
    """``where`` = "{system}/{entity}/{YYYYMMDD}/{file name}"; a manifest unless ``complete=False``."""
    system, entity, day, name = where.split("/")
    folder = root / TENANT / ENV / system / entity / f"{day}T060000Z"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    if complete:
        (folder / "manifest.json").write_text(json.dumps({"files": {name: len(rows)}}))


def txn(tid: str, kind: str, amount: str, charge: str = "10", payer: str = "BCBS", **fields: str) -> Row:
    row = {
        "transaction_id": tid,
        "account_number": "ATH0000001",
        "charge_id": charge,
        "transaction_type": kind,
        "amount": amount,
        "payer_code": payer,
        "payment_source": "payer" if kind == "PAYMENT" else "",
        "service_date": "2025-01-01",
        "posting_date": "2025-01-02",
    }
    return {**row, **fields}


@pytest.fixture
def hand_made(tmp_path: Path) -> Path:
    second = {"account_number": "ATH0000002", "charge": "30"}
    athena = [
        txn("10", "CHARGE", "100.00"),
        txn("11", "PAYMENT", "60.00", posting_date="2025-02-15"),
        txn("12", "ADJUSTMENT", "30.00", posting_date="2025-02-15"),
        txn("13", "PAYMENT", "5.00", posting_date="2025-02-30"),  # impossible date
        txn("14", "PAYMENT", "5.00", posting_date="02/15/2025"),  # epic's format on athena
        txn("15", "PAYMENT", "", posting_date="2025-02-15"),  # missing amount
        txn("16", "PAYMENT", "$5.00"),
        txn("17", "PAYMENT", "1.00", payer="HUMANA"),
        txn("20", "CHARGE", "-50.00", "20", account_number="ATH0000002"),
        txn("18", "PAYMENT", "x", posting_date="bad"),  # two defects: the first rule wins
        txn("30", "CHARGE", "40.00", **second, service_date="2024-09-01", posting_date="2024-09-01"),
    ]
    later = [txn("11", "PAYMENT", "60.00", posting_date="2025-02-15"), txn("19", "WRITE_OFF", "4.00")]
    later[1]["posting_date"] = "2025-03-02"
    epic_account = {"account_number": "EPC0000005", "service_date": "01/05/2025"}
    epic = [
        txn("10", "CHARGE", "70.00", **epic_account, posting_date="01/06/2025"),
        txn("11", "PAYMENT", "70.00", **{**epic_account, "service_date": "2025-01-05"}),  # ISO on epic
    ]
    columns = TRANSACTION_COLUMNS
    write_batch(tmp_path, "billing_athena/transactions/20250301/transactions.csv", columns, athena)
    write_batch(tmp_path, "billing_athena/transactions/20250302/transactions.csv", columns, later)
    unfinished = [txn("99", "CHARGE", "1000.00", "99")]
    write_batch(
        tmp_path, "billing_athena/transactions/20250303/transactions.csv", columns, unfinished, complete=False
    )
    write_batch(tmp_path, "billing_epic/transactions/20250301/transactions.csv", columns, epic)
    providers = ("provider_id", "npi")
    older = [{"provider_id": "1", "npi": "123456789"}, {"provider_id": "2", "npi": "1234567890"}]
    newer = [{"provider_id": "1", "npi": GOOD_NPI}, {"provider_id": "2", "npi": "12345678A3"}]
    write_batch(tmp_path, "billing_athena/providers/20250301/providers.csv", providers, older)
    write_batch(tmp_path, "billing_athena/providers/20250302/providers.csv", providers, newer)
    line = dict(zip(CLAIM_COLUMNS, ("ATH-1", "1", "10", "ATH0000001", GOOD_NPI), strict=False))
    line |= {"service_date": "2025-01-01", "submitted_date": "2025-01-02", "billed_amount": "100.00"}
    line |= {"allowed_amount": "0.00", "paid_amount": "0.00", "claim_status": "pending"}
    paid = {**line, "paid_date": "2025-02-10", "allowed_amount": "60.00", "paid_amount": "60.00"}
    paid["claim_status"] = "paid"
    first = [line, {**line, "claim_line": "2", "paid_date": "2025-13-01"}, {**line, "claim_line": "3"}]
    first.append({**line, "claim_line": "3"})  # a duplicate
    corrected = [paid, {**line, "claim_line": "3", "billed_amount": "N/A"}]
    write_batch(tmp_path, "claims_bcbs/claim_lines/20250205/claims_bcbs_2025-01.csv", CLAIM_COLUMNS, first)
    write_batch(
        tmp_path, "claims_bcbs/claim_lines/20250215/claims_bcbs_2025-01.csv", CLAIM_COLUMNS, corrected
    )
    return tmp_path


def test_billing_rules_in_contract_order(hand_made: Path) -> None:
    reasons = {
        (r.system, r.file_date.day, r.values["transaction_id"]): r.reason
        for r in ref.billing_rows(hand_made, TENANT, ENV)
    }
    assert reasons == {
        ("athena", 1, "10"): None,
        ("athena", 1, "11"): None,
        ("athena", 1, "12"): None,
        ("athena", 1, "13"): "invalid_date",
        ("athena", 1, "14"): "invalid_date",
        ("athena", 1, "15"): "invalid_amount",
        ("athena", 1, "16"): "invalid_amount",
        ("athena", 1, "17"): "unknown_payer",
        ("athena", 1, "20"): "negative_charge",
        ("athena", 1, "18"): "invalid_date",
        ("athena", 1, "30"): None,
        ("athena", 2, "11"): "duplicate_row",
        ("athena", 2, "19"): None,
        ("epic", 1, "10"): None,
        ("epic", 1, "11"): "invalid_date",
    }


def test_balances_totals_and_aging(hand_made: Path) -> None:
    assert ref.expected_ar_by_account(hand_made, TENANT, ENV) == {
        ("athena", "ATH0000001"): Decimal("6.00"),
        ("athena", "ATH0000002"): Decimal("40.00"),
        ("epic", "EPC0000005"): Decimal("70.00"),
    }
    assert ref.expected_totals(hand_made, TENANT, ENV) == {
        "charges": Decimal("210.00"),
        "payments": Decimal("60.00"),
        "adjustments": Decimal("30.00"),
        "write_offs": Decimal("4.00"),
        "outstanding_ar": Decimal("116.00"),
    }
    assert ref.expected_ar_aging(hand_made, TENANT, ENV, date(2025, 3, 2)) == {
        ("BCBS", "31-60"): Decimal("76.00"),
        ("BCBS", "120+"): Decimal("40.00"),
    }
    assert ref.expected_ar_aging(hand_made, TENANT, ENV, date(2025, 2, 14)) == {
        ("BCBS", "31-60"): Decimal("170.00"),
        ("BCBS", "120+"): Decimal("40.00"),
    }
    edges = {0: "0-30", 30: "0-30", 31: "31-60", 60: "31-60", 61: "61-90", 90: "61-90", 91: "91-120"}
    edges |= {120: "91-120", 121: "120+", 900: "120+"}
    assert {age: ref.bucket_of(age) for age in edges} == edges


def test_quarantine_counts_providers_and_superseded_claims(hand_made: Path) -> None:
    assert ref.is_valid_npi(GOOD_NPI) and not ref.is_valid_npi("1234567890")
    counts = ref.expected_quarantine_counts(hand_made, TENANT, ENV)
    assert counts == {
        ("transactions", "invalid_date"): 4,
        ("transactions", "invalid_amount"): 2,
        ("transactions", "unknown_payer"): 1,
        ("transactions", "negative_charge"): 1,
        ("transactions", "duplicate_row"): 1,
        ("providers", "invalid_npi"): 1,
        ("claim_lines", "invalid_date"): 1,
        ("claim_lines", "duplicate_row"): 1,
        ("claim_lines", "invalid_amount"): 1,
    }
    newest_only = ref.expected_quarantine_counts(hand_made, TENANT, ENV, superseded_claim_files=False)
    assert {k: v for k, v in newest_only.items() if k[0] == "claim_lines"} == {
        ("claim_lines", "invalid_amount"): 1
    }
    (current,) = ref.current_claim_rows(hand_made, TENANT, ENV)
    assert current.values["claim_status"] == "paid" and current.claim_month == "2025-01"


def write_ehr(root: Path, system: str, entity: str, day: str, lines: list[str]) -> None:
    folder = root / TENANT / ENV / system / entity / f"{day}T060000Z"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{entity}-0000.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text("{}")


def test_patient_flags_against_the_patients_the_ehr_sent(hand_made: Path) -> None:
    """Known: a Patient resource (17), the subject of a finished encounter (23); not the subject
    of a planned one (31), a truncated line (41) or the other system's patient (17 on epic)."""
    encounter = {"resourceType": "Encounter", "id": "5", "status": "finished"}
    write_ehr(
        hand_made, "athena", "patient", "20250301", [json.dumps({"resourceType": "Patient", "id": "17"})]
    )
    write_ehr(
        hand_made,
        "athena",
        "encounter",
        "20250301",
        [
            json.dumps({**encounter, "subject": {"reference": "Patient/23"}}),
            json.dumps({**encounter, "id": "6", "status": "planned", "subject": {"reference": "Patient/31"}}),
            json.dumps({**encounter, "id": "7", "subject": {"reference": "Patient/41"}})[:40],
        ],
    )
    known = ref.ehr_patients(hand_made, TENANT, ENV)
    assert known == {("athena", "17"), ("athena", "23")}
    (row,) = [r for r in ref.billing_rows(hand_made, TENANT, ENV) if r.values["transaction_id"] == "19"]

    def flag(patient: str, system: str = "athena") -> str | None:
        return ref.patient_flag(
            replace(row, system=system, values={**row.values, "patient_id": patient}), known
        )

    assert [flag(p) for p in ("17", " 0000017", "23")] == [None, None, None]
    assert [flag("31"), flag("41"), flag("17", "epic")] == ["unknown_patient"] * 3
    invalid = ("", "UNKNOWN", "ATH0000017", "17.0", "-17", "1234567890")
    assert [flag(p) for p in invalid] == ["invalid_patient_id"] * len(invalid)
    # the hand-made rows carry no patient id: each one is flagged, quarantined or not
    assert ref.expected_flag_counts(hand_made, TENANT, ENV) == {
        "invalid_patient_id": len(ref.billing_rows(hand_made, TENANT, ENV))
    }


def test_reference_agrees_with_the_simulators_ground_truth() -> None:
    """Balances rebuilt from the simulated cycles, minus the payments and adjustments the
    simulator broke, are the reference's balances: the reference reads the files the way the
    contract says."""
    landing = revenue_landing()
    truth: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for system in ("athena", "epic"):
        for charge in read_ehr_view(landing.root, TENANT, ENV, system, DAYS[-1], SEED).charges:
            life = lifecycle(SEED, charge)
            for posting in life.postings:
                if posting.day > DAYS[-1]:
                    continue
                defect = dirt.transaction_defect(SEED, system, life.transaction_id(posting), posting.kind)
                # a defective charge arrives twice (clean, plus a mis-keyed entry); other rows break,
                # except that a bad patient id is only flagged: its row and money count
                kept = (None, dirt.DUPLICATE_ROW, *dirt.FLAGGED_REASONS)
                if defect in kept or posting.kind == "CHARGE":
                    sign = 1 if posting.kind == "CHARGE" else -1
                    truth[(system, account_number(system, charge.patient_id))] += (
                        sign * Decimal(posting.cents) / 100
                    )
    expected = ref.expected_ar_by_account(landing.root, TENANT, ENV)
    assert {k: v for k, v in expected.items() if v} == {k: v for k, v in truth.items() if v}
