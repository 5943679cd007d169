"""The payers' claim files: monthly, late, corrected or delivered twice, and agreeing with billing.

They come from the landing the billing tests build (``revenue_landing``: 600 patients, three
days); the schedule rules are also checked directly over many payer-months.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.billing.simulator.ehr_view import ChargeFacts
from ingestion.billing.simulator.lifecycle import lifecycle
from ingestion.claims.simulator.files import CHANGED_COLUMNS, COLUMNS
from ingestion.claims.simulator.schedule import (
    add_months,
    deliveries,
    month_end,
    schema_change_month,
)
from ingestion.landing import complete_batches, extract_date_of, read_manifest
from tests import revenue_reference as ref
from tests.unit.test_billing_simulator import (
    DAYS,
    ENV,
    TENANT,
    RevenueLanding,
    revenue_landing,
)

PAYERS = ("bcbs", "uhc", "aetna", "cigna", "medicare", "medicaid")
HISTORY_START = DAYS[0] - timedelta(days=729)


@pytest.fixture(scope="module")
def landing() -> RevenueLanding:
    return revenue_landing()


def claim_batches(root: Path, payer: str) -> list[Path]:
    return complete_batches(root, TENANT, ENV, f"claims_{payer}", "claim_lines")


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_one_file_per_batch_for_every_payer_but_self_pay(landing: RevenueLanding) -> None:
    base = landing.root / TENANT / ENV
    assert sorted(p.name for p in base.glob("claims_*")) == sorted(f"claims_{p}" for p in PAYERS)
    for payer in PAYERS:
        folders = claim_batches(landing.root, payer)
        assert len(folders) >= 20
        for folder in folders:
            manifest = read_manifest(folder)
            (name,) = manifest["files"]
            assert name == f"claims_{payer}_{manifest['claim_month']}.csv"
            assert manifest["payer"] == payer and manifest["payer_code"] == payer.upper()
            assert isinstance(manifest["resubmission"], bool) and isinstance(
                manifest["duplicate_delivery"], bool
            )
            arrival = extract_date_of(folder.name)
            assert arrival <= DAYS[-1]
            assert arrival > month_end(date.fromisoformat(f"{manifest['claim_month']}-01"))
            assert manifest["lines"] == len(read(folder / name)[1]) + 1  # the header is a line too


def test_each_day_lands_the_files_that_arrived_since_the_previous_one(landing: RevenueLanding) -> None:
    arrivals = Counter(
        extract_date_of(folder.name) for payer in PAYERS for folder in claim_batches(landing.root, payer)
    )
    assert landing.results[DAYS[0]].claim_files == sum(n for d, n in arrivals.items() if d <= DAYS[0])
    for day in DAYS[1:]:
        assert landing.results[day].claim_files == arrivals.get(day, 0)
    assert landing.results[DAYS[0]].resubmitted_claim_files > 0


def test_bcbs_changes_its_layout_once(landing: RevenueLanding, tmp_path: Path) -> None:
    change = schema_change_month(HISTORY_START)
    assert change == date(HISTORY_START.year + 1, HISTORY_START.month, 1)  # a year into the history
    assert schema_change_month(date(2025, 6, 15)) == date(2026, 6, 1)
    root = landing.root
    layouts: set[tuple[str, bool]] = set()
    for payer in PAYERS:
        for folder in claim_batches(root, payer):
            month = date.fromisoformat(read_manifest(folder)["claim_month"] + "-01")
            header, rows = read(next(folder.glob("*.csv")))
            changed = payer == "bcbs" and month >= change
            assert tuple(header) == (CHANGED_COLUMNS if changed else COLUMNS)
            if changed:
                assert {r["plan_type"] for r in rows} <= {"HMO", "PPO", "EPO"}
            layouts.add((payer, changed))
    assert ("bcbs", True) in layouts and ("bcbs", False) in layouts


def test_schedule_late_resubmitted_and_twice_delivered_files() -> None:
    planned = [
        d
        for payer in ("BCBS", "UHC", "AETNA", "CIGNA", "MEDICARE", "MEDICAID")
        for d in deliveries(7, payer, date(2020, 1, 1), date(2024, 12, 1))
    ]
    firsts = [d for d in planned if not (d.resubmission or d.duplicate)]
    late = [d for d in firsts if (d.arrival - month_end(d.month)).days >= 20]
    assert 0.08 < len(late) / len(firsts) < 0.25
    on_time = [d for d in firsts if d not in late]
    assert sum(
        d.arrival.month == add_months(d.month, 1).month and 3 <= d.arrival.day <= 12 for d in on_time
    ) > (0.95 * len(on_time))
    resubmitted = [d for d in planned if d.resubmission]
    twice = [d for d in planned if d.duplicate]
    assert 0.05 < len(resubmitted) / len(firsts) < 0.16 and 0.01 < len(twice) / len(firsts) < 0.1
    first_by_month = {(d.payer, d.month): d.arrival for d in firsts}
    for d in resubmitted:
        assert 7 <= (d.arrival - first_by_month[(d.payer, d.month)]).days <= 30 and d.as_of == d.arrival
    by_month = defaultdict(list)
    for d in planned:
        by_month[(d.payer, d.month)].append(d)
    for group in by_month.values():
        if any(d.resubmission for d in group):
            assert group[-1].resubmission, "the corrected file stays the newest one"
    per_payer_days = Counter((d.payer, d.arrival) for d in planned)
    assert max(per_payer_days.values()) == 1


def files_by_name(root: Path) -> dict[str, list[Path]]:
    """File name -> its deliveries (paths), oldest first."""
    found: dict[str, list[Path]] = defaultdict(list)
    for payer in PAYERS:
        for folder in claim_batches(root, payer):
            path = next(folder.glob("*.csv"))
            found[path.name].append(path)
    return found


def clean_rows_by_file(root: Path) -> dict[str, dict[tuple[str, str], dict[str, str]]]:
    """Source file -> its rows that pass every rule, by (claim_id, claim_line)."""
    by_file: dict[str, dict[tuple[str, str], dict[str, str]]] = defaultdict(dict)
    for row in ref.claim_rows(root, TENANT, ENV):
        if row.reason is None:
            by_file[row.source_file][(row.values["claim_id"], row.values["claim_line"])] = row.values
    return by_file


def test_duplicates_are_identical_and_resubmissions_resolve_pending_lines(landing: RevenueLanding) -> None:
    resolved = duplicates = 0
    clean = clean_rows_by_file(landing.root)
    for paths in files_by_name(landing.root).values():
        if len(paths) == 1:
            continue
        manifests = [read_manifest(p.parent) for p in paths]
        assert not manifests[0]["resubmission"] and not manifests[0]["duplicate_delivery"]
        for path, manifest in zip(paths[1:], manifests[1:], strict=True):
            if manifest["duplicate_delivery"]:
                duplicates += 1
                assert path.read_bytes() == paths[0].read_bytes()
                continue
            assert manifest["resubmission"]
            original = clean[str(paths[0].relative_to(landing.root))]
            corrected = clean[str(path.relative_to(landing.root))]
            assert len(set(original) ^ set(corrected)) <= max(2, 0.05 * len(original))  # only dirt differs
            for key, row in original.items():
                if row["claim_status"] != "pending" or key not in corrected:
                    continue
                new = corrected[key]
                assert new["submitted_date"] == row["submitted_date"]
                if new["claim_status"] != "pending":
                    resolved += 1
                    assert new["claim_status"] in ("paid", "denied", "adjusted")
    assert resolved > 0 and duplicates > 0


def test_claim_rows_follow_the_contract(landing: RevenueLanding) -> None:
    rows = ref.current_claim_rows(landing.root, TENANT, ENV)
    statuses = Counter(r.values["claim_status"] for r in rows)
    assert set(statuses) == {"paid", "denied", "pending", "adjusted"}
    denial_codes = {"CO-16", "CO-18", "CO-29", "CO-50", "CO-97", "CO-197", "PR-204"}
    for row in rows:
        values = row.values
        reason = values.get("denial_reason", values.get("denial_reason_code"))
        status = values["claim_status"]
        assert (reason in denial_codes) if status == "denied" else reason == ""
        assert bool(values["paid_date"]) == (status in ("paid", "adjusted"))
        assert values["claim_id"].startswith(("ATH-", "EPC-"))
        assert values["patient_account"][:3] == values["claim_id"][:3]
        month = row.claim_month
        if status == "pending":
            assert values["submitted_date"][:7] == month and values["paid_amount"] == "0.00"
        elif status in ("paid", "adjusted"):  # in its month's file, or resolved by a corrected one
            assert values["paid_date"][:7] >= month and values["paid_date"] > values["submitted_date"]
        billed, allowed, paid = (
            Decimal(values[c]) for c in ("billed_amount", "allowed_amount", "paid_amount")
        )
        assert paid <= allowed < billed if status in ("paid", "adjusted") else allowed == paid == 0


def test_claims_agree_with_billing(landing: RevenueLanding) -> None:
    charges: dict[tuple[str, str], dict[str, str]] = {}
    payer_payments: dict[tuple[str, str], Decimal] = {}
    for row in ref.valid_billing_rows(landing.root, TENANT, ENV):
        key = (row.system, row.values["charge_id"])
        if row.values["transaction_type"] == "CHARGE":
            charges[key] = row.values
        elif row.values["payment_source"] == "payer":
            payer_payments[key] = Decimal(row.values["amount"])
    matched = paid_matched = 0
    for claim in ref.current_claim_rows(landing.root, TENANT, ENV):
        values = claim.values
        system = "athena" if values["claim_id"].startswith("ATH") else "epic"
        charge = charges.get((system, values["line_control_number"]))
        if charge is None:
            continue  # the charge row arrived broken, or posts after the last extract
        matched += 1
        assert charge["payer_code"].lower() == claim.payer
        assert values["claim_id"].split("-", 1)[1] == charge["encounter_id"]
        assert (
            values["claim_line"] == charge["line_number"]
            and values["patient_account"] == charge["account_number"]
        )
        assert Decimal(values["billed_amount"]) == Decimal(charge["amount"])
        assert ref.parse_date(values["service_date"], "athena") == ref.parse_date(
            charge["service_date"], system
        )
        payment = payer_payments.get((system, values["line_control_number"]))
        if values["claim_status"] in ("paid", "adjusted") and payment is not None:
            paid_matched += 1
            assert payment == Decimal(values["paid_amount"])
    assert matched > 1000 and paid_matched > 500


def test_claim_dirt_is_recorded_in_manifests(landing: RevenueLanding) -> None:
    found = Counter(
        (r.source_file.split("/")[2], r.reason) for r in ref.claim_rows(landing.root, TENANT, ENV) if r.reason
    )
    recorded: Counter[tuple[str, str]] = Counter()
    for payer in PAYERS:
        for folder in claim_batches(landing.root, payer):
            recorded.update({(f"claims_{payer}", k): v for k, v in read_manifest(folder)["dirty"].items()})
    assert found == recorded
    assert {reason for _, reason in found} == {"invalid_date", "invalid_amount", "duplicate_row"}


def test_adjudication_is_consistent_over_time() -> None:
    charge = ChargeFacts(
        "athena", 7, 3, 1, 5, "99284", date(2024, 5, 2), date(2024, 5, 2), 4, 1, "EMR", "MEDICAID"
    )
    claims = [lifecycle(seed, charge).claim for seed in range(400)]
    assert all(c is not None for c in claims)
    denied = [c for c in claims if c is not None and c.denial_reason]
    assert 0.05 < len(denied) / len(claims) < 0.2
    for claim in denied:
        assert claim.status_on(claim.decided) == "denied"
        if claim.reprocessed is not None:
            assert claim.reprocessed.replace(day=1) > claim.decided.replace(day=1)
            assert claim.status_on(claim.reprocessed) == "adjusted"
