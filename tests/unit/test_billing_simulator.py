"""The billing simulator: contract-shaped extracts, a deterministic revenue cycle, exact dirt.

The tests share one landing zone (built once per session, see ``revenue_landing``): a 600-patient
EHR landing of three days and the revenue cycle of each of those days. Tests that write more
work on copies of its EHR part.
"""

from __future__ import annotations

import atexit
import csv
import functools
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.billing.__main__ import main as billing_main
from ingestion.billing.simulator import RevenueCycleSimulationResult, dirt, simulate_revenue_cycle_day
from ingestion.billing.simulator.chargemaster import PRICE_CENTS
from ingestion.billing.simulator.departments import system_departments
from ingestion.billing.simulator.ehr_view import read_ehr_view
from ingestion.billing.simulator.extracts import (
    DEPARTMENT_COLUMNS,
    PROVIDER_COLUMNS,
    TRANSACTION_COLUMNS,
)
from ingestion.ehr.simulator import simulate_ehr_extract
from ingestion.ehr.simulator.codes import CPT_DISPLAY
from ingestion.ehr.simulator.identifiers import practitioner_npi
from ingestion.landing import complete_batches, file_facts, read_manifest
from tests import revenue_reference as ref
from warehouse.settings import ENV_HOME

SEED = 11
PATIENTS = 600
DAYS = (date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3))
TENANT, ENV = "carehouse", "dev"
SYSTEMS = ("athena", "epic")


@dataclass(frozen=True)
class RevenueLanding:
    home: Path
    root: Path  # the landing root, home / "landing"
    results: dict[date, RevenueCycleSimulationResult]


@functools.cache
def revenue_landing() -> RevenueLanding:
    """The shared landing (also used by the claims and reference tests): built once per process."""
    home = Path(tempfile.mkdtemp(prefix="carehouse-revenue-"))
    atexit.register(shutil.rmtree, home, True)
    root = home / "landing"
    for day in DAYS:
        simulate_ehr_extract(root, extract_date=day, seed=SEED, patients=PATIENTS)
    results = {day: simulate_revenue_cycle_day(root, day=day, seed=SEED) for day in DAYS}
    return RevenueLanding(home, root, results)


def ehr_copy(landing: RevenueLanding, target: Path) -> Path:
    """A copy of the landing's EHR extracts only (no billing, no claims, no simulator state)."""
    shutil.copytree(
        landing.root,
        target,
        ignore=lambda _, names: [
            n for n in names if n.startswith(("billing_", "claims_", ".simulator_state"))
        ],
    )
    return target


def snapshot(root: Path, prefix: tuple[str, ...] = ("billing_", "claims_")) -> dict[str, bytes]:
    base = root / TENANT / ENV
    return {
        str(path.relative_to(base)): path.read_bytes()
        for path in sorted(base.rglob("*"))
        if path.is_file() and path.relative_to(base).parts[0].startswith(prefix)
    }


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def batches(root: Path, system: str, entity: str) -> list[Path]:
    return complete_batches(root, TENANT, ENV, f"billing_{system}", entity)


@pytest.fixture(scope="module")
def landing() -> RevenueLanding:
    return revenue_landing()


def test_every_cpt_code_the_ehr_sends_has_a_price() -> None:
    assert set(CPT_DISPLAY) <= set(PRICE_CENTS)
    with (ref.SEEDS / "cpt_procedures.csv").open(encoding="utf-8", newline="") as handle:
        assert {row["code"] for row in csv.DictReader(handle)} == set(PRICE_CENTS)


def test_extract_layout_headers_and_manifests(landing: RevenueLanding) -> None:
    columns = {"departments": DEPARTMENT_COLUMNS, "providers": PROVIDER_COLUMNS}
    columns["transactions"] = TRANSACTION_COLUMNS
    for system in SYSTEMS:
        for entity, expected in columns.items():
            folders = batches(landing.root, system, entity)
            assert [f.name for f in folders] == [d.strftime("%Y%m%dT060000Z") for d in DAYS]
            for folder in folders:
                manifest = read_manifest(folder)
                header, rows = read_rows(folder / f"{entity}.csv")
                assert tuple(header) == expected
                assert manifest["files"] == {f"{entity}.csv": file_facts(folder / f"{entity}.csv").as_json()}
                assert manifest["lines"] == len(rows) + 1  # the header is a line too
                assert manifest["system"] == f"billing_{system}" and manifest["entity"] == entity
                assert isinstance(manifest["dirty"], dict)
                raw = (folder / f"{entity}.csv").read_bytes()
                assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == len(rows) + 1


def test_departments_are_every_ward_of_the_system(landing: RevenueLanding) -> None:
    for system, hospitals in (("athena", {1, 2, 3, 4}), ("epic", {5, 6, 7})):
        _, rows = read_rows(batches(landing.root, system, "departments")[-1] / "departments.csv")
        assert [int(r["dept_id"]) for r in rows] == list(range(1, 7 * len(hospitals) + 1))
        assert {int(r["hospital_id"]) for r in rows} == hospitals
        assert Counter(r["department_code"] for r in rows) == dict.fromkeys(
            ("EMR", "SUR", "ICU", "PED", "MAT", "ONC", "CAR"), len(hospitals)
        )


def test_providers_are_the_ehr_roster_with_a_few_broken_npis(landing: RevenueLanding) -> None:
    for system in SYSTEMS:
        extracts = [read_rows(f / "providers.csv")[1] for f in batches(landing.root, system, "providers")]
        broken = [{r["provider_id"] for r in rows if not ref.is_valid_npi(r["npi"])} for rows in extracts]
        assert broken[0] and all(b == broken[0] for b in broken), "the same providers, on every extract"
        for row in extracts[-1]:
            if row["provider_id"] not in broken[0]:
                assert row["npi"] == practitioner_npi(system, int(row["provider_id"]))
            assert row["modified_at"].endswith("Z") and row["first_name"] and row["last_name"]


def transactions_by_day(root: Path, system: str) -> dict[date, list[dict[str, str]]]:
    return {
        datetime.strptime(folder.name, "%Y%m%dT060000Z").date(): read_rows(folder / "transactions.csv")[1]
        for folder in batches(root, system, "transactions")
    }


def test_first_extract_is_the_history_then_daily_increments(landing: RevenueLanding) -> None:
    assert landing.results[DAYS[0]].kind_by_system == {"athena": "initial", "epic": "initial"}
    assert landing.results[DAYS[1]].kind_by_system == {"athena": "incremental", "epic": "incremental"}
    valid = {(r.system, r.values["transaction_id"]) for r in ref.billing_rows(landing.root, TENANT, ENV)}
    for system in SYSTEMS:
        by_day = transactions_by_day(landing.root, system)
        for day, rows in by_day.items():
            for row in rows:
                posted = ref.parse_date(row["posting_date"], system)
                if posted is None:
                    continue  # a broken date (checked by the dirt tests)
                assert posted <= day if day == DAYS[0] else posted == day
                assert row["modified_at"][:10] == posted.isoformat()
                assert (system, row["transaction_id"]) in valid
        history = by_day[DAYS[0]]
        assert len(history) > 50 * sum(len(by_day[d]) for d in DAYS[1:]) / len(DAYS[1:])


def test_dates_follow_each_vendor(landing: RevenueLanding) -> None:
    for row in ref.valid_billing_rows(landing.root, TENANT, ENV):
        text = row.values["service_date"]
        assert (text[2] == "/") if row.system == "epic" else (text[4] == "-")


def test_rows_of_a_charge_carry_the_charge(landing: RevenueLanding) -> None:
    fields = ("account_number", "encounter_id", "line_number", "cpt_code", "service_date")
    fields += ("payer_code", "provider_id", "dept_id")
    known = ref.ehr_patients(landing.root, TENANT, ENV)
    charges: dict[tuple[str, str], dict[str, str]] = {}
    for row in ref.valid_billing_rows(landing.root, TENANT, ENV):
        values = row.values
        if ref.patient_flag(row, known) is None:  # the patient dirt breaks this row's patient id only
            prefix = "ATH" if row.system == "athena" else "EPC"
            assert values["account_number"] == f"{prefix}{int(values['patient_id']):07d}"
        if values["transaction_type"] == "CHARGE":
            assert values["charge_id"] == values["transaction_id"] and values["payment_source"] == ""
            assert Decimal(values["amount"]) == Decimal(PRICE_CENTS[values["cpt_code"]]) / 100
        if values["transaction_type"] == "PAYMENT":
            assert values["payment_source"] in ("payer", "patient")
            assert values["payment_source"] == "patient" or values["payer_code"] != "SELFPAY"
        assert Decimal(values["amount"]) > 0
        first = charges.setdefault((row.system, values["charge_id"]), values)
        assert all(first[f] == values[f] for f in fields)


def test_departments_of_charges_follow_the_encounter(landing: RevenueLanding) -> None:
    for system in SYSTEMS:
        view = read_ehr_view(landing.root, TENANT, ENV, system, DAYS[-1], SEED)
        departments = {d.dept_id: d for d in system_departments(system).values()}
        facts = {str(c.procedure_id * 10): c for c in view.charges}
        for row in ref.valid_billing_rows(landing.root, TENANT, ENV):
            if row.system != system or row.values["transaction_type"] != "CHARGE":
                continue
            charge = facts[row.values["charge_id"]]
            department = departments[int(row.values["dept_id"])]
            assert department.hospital == charge.hospital and department.code == charge.dept_code
            assert row.posting_date is not None and row.posting_date >= charge.known


def test_charges_never_post_before_the_ehr_sent_the_encounter(landing: RevenueLanding) -> None:
    late = 0
    for system in SYSTEMS:
        view = read_ehr_view(landing.root, TENANT, ENV, system, DAYS[-1], SEED)
        for charge in view.charges:
            if charge.known > DAYS[0]:  # finished in an incremental extract
                late += 1
                assert charge.known in DAYS[1:]
    assert late > 0


def test_rerun_of_a_finished_day_changes_nothing(landing: RevenueLanding) -> None:
    before = {p: p.stat().st_mtime_ns for p in (landing.root / TENANT / ENV).rglob("*") if p.is_file()}
    for day in DAYS:
        assert simulate_revenue_cycle_day(landing.root, day=day, seed=SEED) == landing.results[day]
    after = {p: p.stat().st_mtime_ns for p in (landing.root / TENANT / ENV).rglob("*") if p.is_file()}
    assert before == after


def test_same_inputs_give_the_same_bytes_and_days_agree(landing: RevenueLanding, tmp_path: Path) -> None:
    again = ehr_copy(landing, tmp_path / "again")
    simulate_revenue_cycle_day(again, day=DAYS[0], seed=SEED)
    first_day = {k: v for k, v in snapshot(landing.root).items() if DAYS[0].strftime("%Y%m%d") in k}
    assert {k: v for k, v in snapshot(again).items() if k in first_day} == first_day

    late = ehr_copy(landing, tmp_path / "late")
    simulate_revenue_cycle_day(late, day=DAYS[-1], seed=SEED)  # billing's first day is the last one
    for system in SYSTEMS:
        daily = [r for rows in transactions_by_day(landing.root, system).values() for r in rows]
        (once,) = transactions_by_day(late, system).values()
        assert Counter(tuple(r.values()) for r in daily) == Counter(tuple(r.values()) for r in once)
    claims = {k: v for k, v in snapshot(landing.root, ("claims_",)).items()}
    assert snapshot(late, ("claims_",)) == claims


def test_another_seed_gives_another_cycle(landing: RevenueLanding, tmp_path: Path) -> None:
    other = ehr_copy(landing, tmp_path / "other")
    simulate_revenue_cycle_day(other, day=DAYS[0], seed=SEED + 1)
    name = f"billing_athena/transactions/{DAYS[0]:%Y%m%d}T060000Z/transactions.csv"
    assert snapshot(other)[name] != snapshot(landing.root)[name]


def test_needs_an_ehr_extract(tmp_path: Path, landing: RevenueLanding) -> None:
    with pytest.raises(ValueError, match="carehouse simulate ehr"):
        simulate_revenue_cycle_day(tmp_path, day=DAYS[0])
    with pytest.raises(ValueError, match="carehouse simulate ehr"):
        simulate_revenue_cycle_day(landing.root, day=DAYS[0] - timedelta(days=1), seed=SEED)


def test_an_earlier_day_cannot_follow_a_later_one(landing: RevenueLanding, tmp_path: Path) -> None:
    root = ehr_copy(landing, tmp_path / "order")
    simulate_revenue_cycle_day(root, day=DAYS[1], seed=SEED)
    with pytest.raises(ValueError, match="later days"):
        simulate_revenue_cycle_day(root, day=DAYS[0], seed=SEED)


def manifest_dirt(root: Path) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for system in SYSTEMS:
        for folder in batches(root, system, "transactions"):
            counts.update({("transactions", k): v for k, v in read_manifest(folder)["dirty"].items()})
        newest = batches(root, system, "providers")[-1]
        counts.update({("providers", k): v for k, v in read_manifest(newest)["dirty"].items()})
    for folder in complete_batches(root, TENANT, ENV, "claims_*", "claim_lines"):
        counts.update({("claim_lines", k): v for k, v in read_manifest(folder)["dirty"].items()})
    return counts


def test_manifest_dirt_is_what_the_silver_rules_find(landing: RevenueLanding) -> None:
    expected = ref.expected_quarantine_counts(landing.root, TENANT, ENV)
    flagged = ref.expected_flag_counts(landing.root, TENANT, ENV)
    assert manifest_dirt(landing.root) == Counter(expected) + Counter(
        {("transactions", flag): count for flag, count in flagged.items()}
    )
    reasons = {reason for _, reason in expected}
    assert reasons == {
        "invalid_date",
        "invalid_amount",
        "unknown_payer",
        "negative_charge",
        "duplicate_row",
    } | {"invalid_npi"}
    assert set(flagged) == {"invalid_patient_id", "unknown_patient"}
    summed: Counter[str] = Counter()
    for result in landing.results.values():
        summed.update(result.dirty_by_reason)
    rows = sum(r.rows_by_entity["transactions"] for r in landing.results.values())
    assert 0.001 < expected[("transactions", "invalid_date")] / rows < 0.01


def failing_rules(
    row: ref.BillingRow,
    known_payers: frozenset[str],
    earlier_ids: set[str],
    patients: frozenset[tuple[str, str]],
) -> set[str]:
    """Every contract rule the row fails, not just the first, flags included."""
    values = row.values
    failed = {flag} if (flag := ref.patient_flag(row, patients)) else set()
    if row.service_date is None or row.posting_date is None:
        failed.add("invalid_date")
    if row.amount is None:
        failed.add("invalid_amount")
    if values["payer_code"] not in known_payers:
        failed.add("unknown_payer")
    if values["transaction_type"] == "CHARGE" and row.amount is not None and row.amount < 0:
        failed.add("negative_charge")
    if values["transaction_id"] in earlier_ids:
        failed.add("duplicate_row")
    return failed


def test_each_dirty_row_has_exactly_one_defect(landing: RevenueLanding) -> None:
    known = ref.payer_codes()
    patients = ref.ehr_patients(landing.root, TENANT, ENV)
    seen: dict[str, set[str]] = defaultdict(set)
    previous: dict[str, list[str]] = {}
    for row in ref.billing_rows(landing.root, TENANT, ENV):
        failed = failing_rules(row, known, seen[row.system], patients)
        flag = ref.patient_flag(row, patients)
        assert failed == ({row.reason} if row.reason else {flag} if flag else set())
        if row.reason == "duplicate_row":
            assert list(row.values.values()) == previous[row.system], "an exact copy, right after"
        seen[row.system].add(row.values["transaction_id"])
        previous[row.system] = list(row.values.values())


def test_patient_dirt_is_kept_in_place_and_only_breaks_the_patient_id(landing: RevenueLanding) -> None:
    """A flagged row replaces its clean version (a charge is never entered twice: silver keeps
    both), with the account intact, so the money still lands on the right account."""
    patients = ref.ehr_patients(landing.root, TENANT, ENV)
    rows = ref.billing_rows(landing.root, TENANT, ENV)
    copies = Counter((r.system, r.values["transaction_id"]) for r in rows)
    variants: Counter[str] = Counter()
    for row in rows:
        flag = ref.patient_flag(row, patients)
        if flag is None:
            continue
        assert row.reason is None and copies[(row.system, row.values["transaction_id"])] == 1
        patient, account = row.values["patient_id"], row.values["account_number"]
        true_id = int(account[3:])  # the account is intact: ATH/EPC + the patient's id
        if flag == "unknown_patient":
            assert int(patient) == dirt.BILLING_ONLY_PATIENT_BASE + true_id
            variants["billing-only id"] += 1
        else:
            kinds = {"": "blank", "UNKNOWN": "placeholder", account: "account", f"{true_id}.0": "n.0"}
            variants[kinds[patient]] += 1
    assert set(variants) == {"blank", "placeholder", "account", "n.0", "billing-only id"}, variants


def test_balances_reconcile(landing: RevenueLanding) -> None:
    totals = ref.expected_totals(landing.root, TENANT, ENV)
    by_account = ref.expected_ar_by_account(landing.root, TENANT, ENV)
    assert sum(by_account.values()) == totals["outstanding_ar"]
    assert (
        totals["charges"] - totals["payments"] - totals["adjustments"] - totals["write_offs"]
        == (totals["outstanding_ar"])
    )
    aging = ref.expected_ar_aging(landing.root, TENANT, ENV, DAYS[-1])
    assert sum(aging.values()) == totals["outstanding_ar"]
    assert {bucket for _, bucket in aging} == set(ref.BUCKETS)
    assert 0 < totals["outstanding_ar"] < Decimal("0.2") * totals["charges"]
    # A charge whose rows all arrived clean closes at exactly zero once its cycle is over.
    rows = ref.billing_rows(landing.root, TENANT, ENV)
    broken = {
        (r.system, r.values["transaction_id"]) for r in rows if r.reason and r.reason != "duplicate_row"
    }
    balances: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    old: set[tuple[str, str]] = set()
    for row in rows:
        if row.reason is None:
            key = (row.system, row.values["charge_id"])
            balances[key] += row.signed_amount
            assert row.service_date is not None
            if (DAYS[-1] - row.service_date).days > 400:
                old.add(key)
    clean_old = [k for k in old if not any((k[0], f"{k[1][:-1]}{slot}") in broken for slot in range(10))]
    assert clean_old and all(balances[k] == 0 for k in clean_old)


def test_collection_shares_look_like_a_practice(landing: RevenueLanding) -> None:
    shares = ref.collection_shares(landing.root, TENANT, ENV, DAYS[-1])
    assert set(shares) == {"BCBS", "UHC", "AETNA", "CIGNA", "MEDICARE", "MEDICAID", "SELFPAY"}
    for curve in shares.values():
        values = list(curve.values())
        assert values == sorted(values) and values[-1] <= 1.0
    assert 0.85 < shares["BCBS"]["30d"] < 0.98
    assert shares["MEDICARE"]["30d"] < shares["BCBS"]["30d"]
    assert shares["MEDICAID"]["30d"] < shares["MEDICARE"]["30d"]
    assert shares["SELFPAY"]["30d"] < 0.35 and shares["SELFPAY"]["all"] < 0.6
    assert shares["MEDICAID"]["120d"] > 0.6


def test_command_line_runs_on_the_settings_landing(
    landing: RevenueLanding, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m ingestion.billing`` is ``carehouse simulate revenue-cycle`` under another name."""
    with pytest.raises(SystemExit) as exit_info:
        billing_main(["--help"])
    assert exit_info.value.code == 0
    assert "python -m ingestion.billing" in capsys.readouterr().out
    monkeypatch.setenv(ENV_HOME, str(landing.home))
    with pytest.raises(SystemExit) as exit_info:
        billing_main(["--date", DAYS[-1].isoformat(), "--seed", str(SEED)])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"revenue cycle {DAYS[-1]}" in out and "claim files" in out
