"""The PBM fill files and payer eligibility rosters: contract layout, exact dirt, a sane adherence mix.

They come from the landing the billing tests build (``revenue_landing``: 600 patients, three days,
pharmacy and eligibility files included); the incremental tests work on copies of its EHR part.
"""

from __future__ import annotations

import csv
import itertools
import shutil
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from ingestion.billing.simulator import simulate_revenue_cycle_day
from ingestion.billing.simulator.ehr_view import CoverageFacts, read_ehr_view
from ingestion.claims.simulator.schedule import add_months
from ingestion.ehr.simulator.identifiers import is_valid_npi, practitioner_npi
from ingestion.landing import LANDING_MANIFEST, complete_batches, extract_date_of, file_facts, read_manifest
from ingestion.pharmacy.simulator import files as pharmacy_files
from ingestion.pharmacy.simulator.rows import FILL_COLUMNS, MEMBER_COLUMNS, members_by_payer_month
from ingestion.pharmacy.simulator.schedule import fill_deliveries, planned_deliveries
from tests.unit.test_billing_simulator import DAYS, ENV, SEED, TENANT, RevenueLanding, revenue_landing

PAYERS = ("bcbs", "uhc", "aetna", "cigna", "medicare", "medicaid")
HISTORY_START = DAYS[0] - timedelta(days=729)
LATER_DAY = date(2025, 3, 20)  # February's fill files arrive between 03-05 and 03-17
PREFIXES = ("pharmacy_", "eligibility_")
FILL_REASONS = ("invalid_date", "invalid_amount", "invalid_days_supply", "invalid_npi", "duplicate_row")
ADHERENCE_CLASSES = ("diabetes", "ras_antagonist", "statin")

Row = dict[str, str]


@pytest.fixture(scope="module")
def landing() -> RevenueLanding:
    return revenue_landing()


def batches(root: Path, source: str, entity: str, payer: str = "*") -> list[Path]:
    return complete_batches(root, TENANT, ENV, f"{source}_{payer}", entity)


def read(path: Path) -> tuple[list[str], list[Row]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def snapshot(root: Path) -> dict[str, bytes]:
    base = root / TENANT / ENV
    return {
        str(path.relative_to(base)): path.read_bytes()
        for path in sorted(base.rglob("*"))
        if path.is_file() and path.relative_to(base).parts[0].startswith(PREFIXES)
    }


def ehr_only(landing: RevenueLanding, target: Path) -> Path:
    shutil.copytree(
        landing.root,
        target,
        ignore=lambda _, names: [n for n in names if n.startswith(("billing_", "claims_", *PREFIXES))],
    )
    return target


def is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def is_amount(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return value.replace(".", "", 1).isdigit()


def is_days_supply(value: str) -> bool:
    return value.isdigit() and 1 <= int(value) <= 365


def fill_failures(row: Row, earlier: set[tuple[str, ...]]) -> list[str]:
    """Every contract rule the row fails, in the silver order."""
    failed = []
    if not is_date(row["fill_date"]):
        failed.append("invalid_date")
    if not is_amount(row["paid_amount"]):
        failed.append("invalid_amount")
    if not is_days_supply(row["days_supply"]):
        failed.append("invalid_days_supply")
    if not is_valid_npi(row["prescriber_npi"]):
        failed.append("invalid_npi")
    if tuple(row.values()) in earlier:
        failed.append("duplicate_row")
    return failed


def fill_files(root: Path) -> list[tuple[str, Path]]:
    """(payer folder code, file) of every fill file but duplicate deliveries."""
    found = []
    for folder in batches(root, "pharmacy", "fills"):
        manifest = read_manifest(folder)
        if not manifest["duplicate_delivery"]:
            found.extend((manifest["payer"], folder / name) for name in manifest["files"])
    return found


def clean_fills(root: Path) -> list[tuple[str, Row]]:
    """(payer, row) of every usable paid fill that was not reversed."""
    out = []
    for payer, path in fill_files(root):
        _, rows = read(path)
        reversed_ids = {r["rx_claim_id"] for r in rows if r["claim_status"] == "reversed"}
        seen: set[tuple[str, ...]] = set()
        for row in rows:
            usable = not fill_failures(row, seen) and row["claim_status"] == "paid"
            if usable and row["rx_claim_id"] not in reversed_ids:
                out.append((payer, row))
            seen.add(tuple(row.values()))
    return out


def test_one_file_per_batch_for_every_payer(landing: RevenueLanding) -> None:
    base = landing.root / TENANT / ENV
    for source, entity, columns in (
        ("pharmacy", "fills", FILL_COLUMNS),
        ("eligibility", "member_months", MEMBER_COLUMNS),
    ):
        assert sorted(p.name for p in base.glob(f"{source}_*")) == sorted(f"{source}_{p}" for p in PAYERS)
        for payer in PAYERS:
            folders = batches(landing.root, source, entity, payer)
            assert len(folders) >= 20
            for folder in folders:
                manifest = read_manifest(folder)
                assert manifest["system"] == f"{source}_{payer}" and manifest["entity"] == entity
                month = manifest["fill_month" if source == "pharmacy" else "eligibility_month"]
                name = f"{source}_{payer}_{month}.csv"
                assert sorted(p.name for p in folder.iterdir()) == sorted([name, LANDING_MANIFEST])
                header, rows = read(folder / name)
                assert tuple(header) == columns and manifest["columns"] == list(columns)
                assert manifest["files"] == {name: file_facts(folder / name).as_json()}
                assert manifest["lines"] == len(rows) + 1 and rows  # the header is a line too
                raw = (folder / name).read_bytes()
                assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == len(rows) + 1
                arrival = extract_date_of(folder.name)
                assert manifest["arrival_date"] == arrival.isoformat() and arrival <= DAYS[0]
                month_start = date.fromisoformat(f"{month}-01")
                if source == "pharmacy":
                    assert add_months(month_start, 1) + timedelta(days=4) <= arrival
                    assert arrival <= add_months(month_start, 1) + timedelta(days=16)
                else:
                    assert arrival == month_start


def test_fill_months_are_the_complete_months_of_the_history(landing: RevenueLanding) -> None:
    months = {read_manifest(f)["fill_month"] for f in batches(landing.root, "pharmacy", "fills", "bcbs")}
    # the last complete month's file (2025-02) arrives only after the first simulated day
    assert min(months) == f"{HISTORY_START:%Y-%m}" and max(months) == "2025-01"
    roster = {
        read_manifest(f)["eligibility_month"] for f in batches(landing.root, "eligibility", "member_months")
    }
    assert min(roster) == f"{HISTORY_START:%Y-%m}" and max(roster) == f"{DAYS[0]:%Y-%m}"


def test_the_schedule_over_many_months() -> None:
    planned = [
        d
        for payer in ("BCBS", "UHC", "MEDICAID")
        for d in fill_deliveries(SEED, payer, date(2010, 1, 1), date(2024, 12, 1))
    ]
    originals = [d for d in planned if not d.duplicate]
    duplicates = [d for d in planned if d.duplicate]
    assert len(originals) == 3 * 180
    assert 0.02 < len(duplicates) / len(originals) < 0.09
    assert all(
        5 <= d.arrival.day <= 12 and d.arrival.month == add_months(d.month, 1).month for d in originals
    )
    assert all(d.content_key is not None and 1 <= (d.arrival - d.content_key).days <= 5 for d in duplicates)
    by_payer_day = Counter((d.payer, d.arrival) for d in planned)
    assert max(by_payer_day.values()) == 1


def test_duplicate_deliveries_repeat_the_bytes(landing: RevenueLanding) -> None:
    folders = batches(landing.root, "pharmacy", "fills")
    by_key = {
        (f.parent.parent.name, read_manifest(f)["fill_month"], read_manifest(f)["duplicate_delivery"]): f
        for f in folders
    }
    duplicates = [key for key in by_key if key[2]]
    assert duplicates
    for system, month, _ in duplicates:
        first, again = by_key[(system, month, False)], by_key[(system, month, True)]
        name = f"{system}_{month}.csv"
        assert (first / name).read_bytes() == (again / name).read_bytes()
        assert read_manifest(first)["dirty"] == read_manifest(again)["dirty"]
        assert extract_date_of(first.name) < extract_date_of(again.name)


def test_dirt_in_manifests_is_what_the_rules_find(landing: RevenueLanding) -> None:
    total: Counter[str] = Counter()
    for folder in batches(landing.root, "pharmacy", "fills"):
        manifest = read_manifest(folder)
        _, rows = read(folder / next(iter(manifest["files"])))
        found: Counter[str] = Counter()
        seen: set[tuple[str, ...]] = set()
        for row in rows:
            failed = fill_failures(row, seen)
            assert len(failed) <= 1, f"one defect per row: {row}"
            found.update(failed)
            seen.add(tuple(row.values()))
        assert found == Counter(manifest["dirty"]), folder
        total.update(found)
    assert set(total) == set(FILL_REASONS)
    for folder in batches(landing.root, "eligibility", "member_months"):
        manifest = read_manifest(folder)
        _, rows = read(folder / next(iter(manifest["files"])))
        found = Counter()
        seen = set()
        for row in rows:
            if not is_date(row["eligibility_month"]):
                found["invalid_date"] += 1
            elif tuple(row.values()) in seen:
                found["duplicate_row"] += 1
            seen.add(tuple(row.values()))
        assert found == Counter(manifest["dirty"]), folder
        total.update({f"eligibility_{k}": v for k, v in found.items()})
    assert total["eligibility_invalid_date"] and total["eligibility_duplicate_row"]


def test_result_reports_the_days_files_and_dirt(landing: RevenueLanding) -> None:
    first = landing.results[DAYS[0]]
    lines = {
        entity: sum(read_manifest(f)["lines"] for f in batches(landing.root, source, entity))
        for source, entity in (("pharmacy", "fills"), ("eligibility", "member_months"))
    }
    assert first.rows_by_entity["fills"] == lines["fills"] > 1000
    assert first.rows_by_entity["member_months"] == lines["member_months"] > 1000
    assert first.dirty_by_reason["invalid_days_supply"] > 0
    assert first.pharmacy_files == len(batches(landing.root, "pharmacy", "fills"))
    assert first.eligibility_files == len(batches(landing.root, "eligibility", "member_months"))
    for day in DAYS[1:]:
        assert landing.results[day].rows_by_entity["fills"] == 0  # nothing arrives on 03-02, 03-03


def test_reversals_pair_with_a_paid_fill(landing: RevenueLanding) -> None:
    paid = reversed_ = 0
    for payer, path in fill_files(landing.root):
        _, rows = read(path)
        ids = Counter(r["rx_claim_id"] for r in rows if r["claim_status"] == "paid")
        for index, row in enumerate(rows):
            assert row["rx_claim_id"].startswith("RX") and len(row["rx_claim_id"]) == 12
            assert row["member_id"][:3] == payer.upper()[:3] and row["member_id"][3:].isdigit()
            assert len(row["member_id"]) == 12 and row["claim_status"] in ("paid", "reversed")
            if row["claim_status"] == "reversed":
                reversed_ += 1
                before = rows[index - 1]
                assert before["rx_claim_id"] == row["rx_claim_id"] and before["claim_status"] == "paid"
                if not fill_failures(before, set()):
                    assert {**before, "claim_status": "reversed"} == row
        paid += len(ids)
    assert 0.015 < reversed_ / paid < 0.05


def test_ids_are_unique_per_payer_and_stable_per_member(landing: RevenueLanding) -> None:
    claims: dict[str, set[str]] = defaultdict(set)
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for payer, path in fill_files(landing.root):
        _, rows = read(path)
        new = {r["rx_claim_id"] for r in rows}
        assert not new & claims[payer], "an rx_claim_id is never reused in another month"
        claims[payer] |= new
        for row in rows:
            members[(payer, row["patient_account"])].add(row["member_id"])
    for folder in batches(landing.root, "eligibility", "member_months"):
        manifest = read_manifest(folder)
        for row in read(folder / next(iter(manifest["files"])))[1]:
            members[(manifest["payer"], row["patient_account"])].add(row["member_id"])
    assert all(len(ids) == 1 for ids in members.values())
    by_payer: dict[str, set[str]] = defaultdict(set)
    for (payer, _), ids in members.items():
        assert not ids & by_payer[payer]
        by_payer[payer] |= ids


def test_fills_follow_the_ehr(landing: RevenueLanding) -> None:
    """Each clean fill: its payer covers the patient that day, its prescriber is an EHR practitioner."""
    views = {s: read_ehr_view(landing.root, TENANT, ENV, s, DAYS[0], SEED) for s in ("athena", "epic")}
    prefix = {"ATH": "athena", "EPC": "epic"}
    npis = {s: {practitioner_npi(s, p.provider_id) for p in v.providers} for s, v in views.items()}
    classes: Counter[str] = Counter()
    for payer, row in clean_fills(landing.root):
        system, patient = prefix[row["patient_account"][:3]], int(row["patient_account"][3:])
        day = date.fromisoformat(row["fill_date"])
        active = [
            (c.start, cid, c.payer)
            for cid, c in views[system].coverages[patient].items()
            if c.start <= day and (c.end is None or day < c.end)
        ]
        assert max(active)[2].lower() == payer
        assert row["prescriber_npi"] in npis[system]
        assert len(row["ndc"]) == 11 and row["ndc"].isdigit()
        supply = int(row["days_supply"])
        if row["therapeutic_class"] in ("antibiotic", "analgesic"):
            assert 3 <= supply <= 14
        else:
            assert supply in (30, 90)
        assert Decimal(row["paid_amount"]) > 0 and Decimal(row["patient_paid_amount"]) >= 0
        classes[row["therapeutic_class"]] += 1
    assert set(classes) == {
        "diabetes",
        "ras_antagonist",
        "statin",
        "antibiotic",
        "analgesic",
        "antidepressant",
    }
    assert classes["ras_antagonist"] > classes["antidepressant"]


def adherence(rows: list[tuple[str, Row]]) -> tuple[int, int, int, int]:
    """(measures, measures with PDC >= 80%, refills, early refills) per patient x class x full year."""
    fills: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
    for _, row in rows:
        if row["therapeutic_class"] in ADHERENCE_CLASSES:
            key = (row["patient_account"], row["therapeutic_class"])
            fills[key].append((date.fromisoformat(row["fill_date"]), int(row["days_supply"])))
    measures = adherent = refills = early = 0
    for items in fills.values():
        items.sort()
        for (before, supply), (after, _) in itertools.pairwise(items):
            refills += 1
            early += after < before + timedelta(days=supply)
        for year in (2023, 2024):
            in_year = [f for f in items if f[0].year == year]
            if len({d for d, _ in in_year}) < 2:
                continue
            start, end = in_year[0][0], date(year, 12, 31)
            covered: set[date] = set()
            cursor = start
            for day, supply in in_year:
                cursor = max(cursor, day)  # an early refill's supply starts when the previous one ends
                for _ in range(supply):
                    covered.add(cursor)
                    cursor += timedelta(days=1)
            measures += 1
            adherent += len({d for d in covered if d <= end}) / ((end - start).days + 1) >= 0.8
    return measures, adherent, refills, early


def test_adherence_mix_and_early_refills(landing: RevenueLanding) -> None:
    measures, adherent, refills, early = adherence(clean_fills(landing.root))
    assert measures > 200
    assert 0.55 < adherent / measures < 0.8
    assert 0.05 < early / refills < 0.4


def test_eligibility_is_the_ehr_coverage(landing: RevenueLanding) -> None:
    expected: set[tuple[str, str, str]] = set()
    for system, prefix in (("athena", "ATH"), ("epic", "EPC")):
        view = read_ehr_view(landing.root, TENANT, ENV, system, DAYS[0], SEED)
        for patient, coverages in view.coverages.items():
            for coverage in coverages.values():
                if coverage.payer == "SELFPAY" or (
                    coverage.end is not None and coverage.end <= coverage.start
                ):
                    continue
                month = date(HISTORY_START.year, HISTORY_START.month, 1)
                while month <= DAYS[0]:
                    last = add_months(month, 1) - timedelta(days=1)
                    if coverage.start <= last and (coverage.end is None or coverage.end > month):
                        expected.add((coverage.payer.lower(), month.isoformat(), f"{prefix}{patient:07d}"))
                    month = add_months(month, 1)
    found: set[tuple[str, str, str]] = set()
    for folder in batches(landing.root, "eligibility", "member_months"):
        manifest = read_manifest(folder)
        for row in read(folder / next(iter(manifest["files"])))[1]:
            if is_date(row["eligibility_month"]):
                found.add((manifest["payer"], row["eligibility_month"], row["patient_account"]))
                commercial = manifest["payer"] not in ("medicare", "medicaid")
                assert row["product"] == ("commercial" if commercial else manifest["payer"])
                assert (row["plan_type"] in ("HMO", "PPO", "EPO")) if commercial else row["plan_type"] == ""
    # a defect hides a member-month only when the member is listed just once that month
    missing = expected - found
    assert not found - expected and len(missing) < 0.005 * len(expected)


def test_member_months_of_a_coverage_period() -> None:
    """The period's end is exclusive: coverage ending on the 1st is not active in that month."""
    spans = {
        1: CoverageFacts("t", date(2024, 1, 15), date(2024, 3, 1), "UHC"),
        2: CoverageFacts("t", date(2024, 5, 31), date(2024, 6, 2), "UHC"),
        3: CoverageFacts("t", date(2024, 8, 9), date(2024, 8, 9), "UHC"),  # empty
        4: CoverageFacts("t", date(2023, 1, 1), None, "SELFPAY"),
    }
    members = members_by_payer_month({"epic": {7: spans}}, date(2023, 12, 1), date(2024, 12, 1))
    assert sorted(month for (_, month) in members) == [
        date(2024, 1, 1),
        date(2024, 2, 1),
        date(2024, 5, 1),
        date(2024, 6, 1),
    ]
    assert all(payer == "UHC" and found == {("epic", 7)} for (payer, _), found in members.items())


def test_manifest_is_written_last(
    landing: RevenueLanding, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ehr_only(landing, tmp_path / "landing")
    order: list[str] = []
    real_atomic, real_manifest = pharmacy_files.write_atomic, pharmacy_files.write_manifest

    def atomic(path: Path, data: bytes) -> None:
        order.append(f"{path.parent}:data")
        real_atomic(path, data)

    def manifest(folder: Path, files: dict[str, int], extra: dict[str, Any]) -> None:
        assert not (folder / LANDING_MANIFEST).exists()
        order.append(f"{folder}:manifest")
        real_manifest(folder, files, extra)

    monkeypatch.setattr(pharmacy_files, "write_atomic", atomic)
    monkeypatch.setattr(pharmacy_files, "write_manifest", manifest)
    simulate_revenue_cycle_day(root, day=DAYS[0], seed=SEED)
    assert order and len(order) % 2 == 0
    for data, done in zip(order[::2], order[1::2], strict=True):
        assert data.endswith(":data") and done == data.replace(":data", ":manifest")
    # same seed, day and EHR landing: byte-identical to the shared landing's files
    assert snapshot(root) == snapshot(landing.root)


def test_days_land_only_new_arrivals_and_a_finished_day_writes_nothing(
    landing: RevenueLanding, tmp_path: Path
) -> None:
    stepped = ehr_only(landing, tmp_path / "stepped")
    simulate_revenue_cycle_day(stepped, day=DAYS[0], seed=SEED)
    before = snapshot(stepped)
    result = simulate_revenue_cycle_day(stepped, day=LATER_DAY, seed=SEED)
    after = snapshot(stepped)
    assert before.items() <= after.items(), "earlier files are never rewritten"
    new = {name.split("/")[-2] for name in set(after) - set(before)}
    arrivals = {extract_date_of(batch) for batch in new}
    assert arrivals and all(DAYS[0] < a <= LATER_DAY for a in arrivals)
    planned = planned_deliveries(SEED, HISTORY_START, DAYS[0], LATER_DAY)
    assert {d.arrival for d in planned} == arrivals
    assert {d.entity for d in planned} == {"fills"}
    assert result.pharmacy_files == len(planned) and result.eligibility_files == 0
    assert result.rows_by_entity["fills"] > 0 and result.rows_by_entity["member_months"] == 0
    stamps = {p: p.stat().st_mtime_ns for p in (stepped / TENANT / ENV).rglob("*") if p.is_file()}
    again = simulate_revenue_cycle_day(stepped, day=LATER_DAY, seed=SEED)
    assert {p: p.stat().st_mtime_ns for p in (stepped / TENANT / ENV).rglob("*") if p.is_file()} == stamps
    assert again.rows_by_entity == result.rows_by_entity
    # a landing that starts on the later day has the same files of the window (older ones may
    # differ: they reflect the EHR as known on their own day)
    direct_root = ehr_only(landing, tmp_path / "direct")
    simulate_revenue_cycle_day(direct_root, day=LATER_DAY, seed=SEED)
    direct = snapshot(direct_root)
    window = {name for name in after if extract_date_of(name.split("/")[-2]) > DAYS[0]}
    assert window and {n: direct[n] for n in window} == {n: after[n] for n in window}
