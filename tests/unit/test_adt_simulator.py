"""The ADT simulator: a true census that never overbooks, a Kafka-like topic, exact ground truth.

Most tests share one landing zone: the first call (14-day warm-up + DAY_ONE) and DAY_TWO, at
raised dirt rates so every scenario shows up often. Tests that write more (follow, crash
recovery) work on a copy of it.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import simple_icd_10_cm as cm

from ingestion.adt.simulator import (
    CANONICAL_DEPARTMENTS,
    DEPARTMENT_TYPOS,
    SCENARIOS,
    AdtSimulationResult,
    DirtyRates,
    dry_run,
    follow,
    live,
    load_wards,
    partition_of,
    read_dirty_manifests,
    seed_path,
    simulate_adt_day,
)
from ingestion.adt.simulator.arrivals import seasonal_factor
from ingestion.adt.simulator.codes import check_codes
from ingestion.adt.simulator.engine import Engine, EngineState, local_day, local_midnight
from ingestion.ehr.simulator.facilities import HOSPITALS
from ingestion.landing import LANDING_MANIFEST, complete_batches, read_manifest

DAY_ONE = date(2025, 6, 2)  # a Monday outside the flu season
DAY_TWO = DAY_ONE + timedelta(days=1)
RATES = DirtyRates.uniform(0.02)
PER_BATCH = 400
EVENT_FIELDS = {
    "event_id",
    "event_type",
    "event_time",
    "stay_id",
    "patient_id",
    "age",
    "gender",
    "hospital_id",
    "department",
    "from_department",
    "bed_id",
    "admission_time",
    "discharge_time",
    "admission_priority",
    "diagnosis_code",
    "insurance_type",
    "heart_rate",
    "bp_systolic",
    "bp_diastolic",
    "o2_saturation",
    "temperature_c",
}
NAMES = {"EMR": "Emergency", "SUR": "Surgery", "ICU": "ICU", "PED": "Pediatrics"}
NAMES |= {"MAT": "Maternity", "ONC": "Oncology", "CAR": "Cardiology"}
BED_ID = re.compile(r"^H([1-7])-(EMR|SUR|ICU|PED|MAT|ONC|CAR)-(\d{2})$")


@dataclass(frozen=True)
class Line:
    batch: str
    manifest: dict[str, Any]
    record: dict[str, Any]

    @property
    def event(self) -> dict[str, Any]:
        return self.record["event"]


def events_root(root: Path) -> Path:
    return root / "carehouse" / "dev" / "adt" / "events"


def batches(root: Path) -> list[Path]:
    return complete_batches(root, "carehouse", "dev", "adt", "events")


def read_lines(root: Path) -> Iterator[Line]:
    """Every record of every published batch, in batch order then file order."""
    for folder in batches(root):
        manifest = read_manifest(folder)
        for name in sorted(manifest["files"]):
            for raw in (folder / name).read_text(encoding="utf-8").splitlines():
                yield Line(folder.name, manifest, json.loads(raw))


def truth_by_event(root: Path) -> dict[str, dict[str, Any]]:
    truth: dict[str, dict[str, Any]] = {}
    for entry in read_dirty_manifests(root):
        assert entry["event_id"] not in truth, "an event is dirty in one way only"
        truth[entry["event_id"]] = entry
    return truth


def clean_events(root: Path) -> list[dict[str, Any]]:
    """The true event stream: dirt undone with the ground truth, re-sends dropped."""
    truth = truth_by_event(root)
    out = []
    for line in read_lines(root):
        event = dict(line.event)
        entry = truth.get(event["event_id"])
        if entry is not None:
            if entry["scenario"] == "DUPLICATE_EVENT":
                if line.record["offset"] == entry["injected"]:
                    continue
            else:
                event[entry["field"]] = entry["original"]
        out.append(event)
    return out


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("adt-landing")
    for day in (DAY_ONE, DAY_TWO):
        simulate_adt_day(root, day=day, events_per_batch=PER_BATCH, dirty_rates=RATES)
    return root


@pytest.fixture(scope="module")
def results(landing: Path) -> dict[date, AdtSimulationResult]:
    """What the API reports for each day (the days are written already: these are re-runs)."""
    return {day: simulate_adt_day(landing, day=day, dirty_rates=RATES) for day in (DAY_ONE, DAY_TWO)}


@pytest.fixture(scope="module")
def lines(landing: Path) -> list[Line]:
    return list(read_lines(landing))


@pytest.fixture(scope="module")
def clean(landing: Path) -> list[dict[str, Any]]:
    return clean_events(landing)


# -- the seed -------------------------------------------------------------------------------------


def test_seed_has_every_ward_with_realistic_beds() -> None:
    with seed_path().open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["hospital_id", "hospital_label", "department", "department_code", "bed_capacity"]
    assert len(rows) == 49
    names = {h.number: h.name for h in HOSPITALS}
    assert {(int(r["hospital_id"]), r["department_code"]) for r in rows} == {
        (h, code) for h in names for code in NAMES
    }
    bounds = {"ICU": (8, 20), "SUR": (20, 40), "EMR": (15, 30)}
    for row in rows:
        assert row["hospital_label"] == names[int(row["hospital_id"])]
        assert row["department"] == NAMES[row["department_code"]]
        low, high = bounds.get(row["department_code"], (6, 40))
        assert low <= int(row["bed_capacity"]) <= high
    assert len(load_wards()) == 49


# -- determinism and idempotence ------------------------------------------------------------------


def test_same_seed_and_days_write_identical_bytes(landing: Path, tmp_path: Path) -> None:
    for day in (DAY_ONE, DAY_TWO):
        simulate_adt_day(tmp_path, day=day, events_per_batch=PER_BATCH, dirty_rates=RATES)
    assert snapshot(tmp_path) == snapshot(landing)


def test_a_day_run_twice_writes_nothing_new(landing: Path, results: dict[date, AdtSimulationResult]) -> None:
    before = snapshot(landing)
    again = simulate_adt_day(landing, day=DAY_TWO, dirty_rates=RATES)
    assert snapshot(landing) == before
    assert again == results[DAY_TWO]
    assert simulate_adt_day(landing, day=DAY_ONE - timedelta(days=3)).batch_ids  # a warm-up day


def test_first_call_warms_up_fourteen_days(landing: Path, results: dict[date, AdtSimulationResult]) -> None:
    modes = Counter((m["mode"], m["day"]) for m in map(read_manifest, batches(landing)) if m["day_complete"])
    assert sorted(day for mode, day in modes if mode == "warmup") == [
        (DAY_ONE - timedelta(days=n)).isoformat() for n in range(14, 0, -1)
    ]
    assert set(modes.values()) == {1}
    for day, result in results.items():
        assert result.admissions > 300 and result.discharges > 300 and result.transfers > 20
        assert result.events == sum(
            read_manifest(events_root(landing) / b)["records"] for b in result.batch_ids
        )
        assert all(path.is_file() for path in result.files)
        assert result.occupied_beds is not None and 0 < result.occupied_beds <= 1017
        for batch in result.batch_ids:
            first = ts(read_manifest(events_root(landing) / batch)["event_time_range"][0])
            assert local_day(int(first.timestamp())) == day


class Crash(Exception):
    pass


@pytest.mark.parametrize("crash_after", [1, 23])  # before any state exists; mid warm-up
def test_a_crashed_run_resumes_to_the_same_bytes(landing: Path, tmp_path: Path, crash_after: int) -> None:
    published: list[str] = []

    def die(batch_id: str, records: int) -> None:
        published.append(batch_id)
        if len(published) == crash_after:
            raise Crash

    with pytest.raises(Crash):
        simulate_adt_day(tmp_path, day=DAY_ONE, events_per_batch=PER_BATCH, dirty_rates=RATES, on_batch=die)
    assert len(batches(tmp_path)) == crash_after
    if crash_after == 1:
        assert "simulator_state" not in read_manifest(batches(tmp_path)[0])
    for day in (DAY_ONE, DAY_TWO):
        simulate_adt_day(tmp_path, day=day, events_per_batch=PER_BATCH, dirty_rates=RATES)
    assert snapshot(tmp_path) == snapshot(landing)


def test_dry_run_yields_what_the_first_run_writes(landing: Path, lines: list[Line]) -> None:
    on_disk = [line.record for line in lines if line.manifest["day"] == DAY_ONE.isoformat()]
    dry = list(dry_run(max_events=600, seed=42, day=DAY_ONE, dirty_rates=RATES, events_per_batch=PER_BATCH))
    assert dry == on_disk[:600]
    assert list(dry_run(max_events=0, seed=42, day=DAY_ONE)) == []


# -- the topic ------------------------------------------------------------------------------------


def test_offsets_are_gapless_and_never_reused(lines: list[Line], landing: Path) -> None:
    offsets: dict[int, list[int]] = defaultdict(list)
    for line in lines:
        offsets[line.record["partition"]].append(line.record["offset"])
    assert set(offsets) == {0, 1, 2, 3}
    for seen in offsets.values():
        assert seen == list(range(len(seen)))  # strictly increasing from 0, across batches and days
    last = read_manifest(batches(landing)[-1])["cursor"]["next_offsets"]
    assert last == [len(offsets[p]) for p in range(4)]


def test_partition_follows_the_true_hospital(lines: list[Line], landing: Path) -> None:
    truth = truth_by_event(landing)
    for line in lines:
        hospital = line.event["hospital_id"]
        entry = truth.get(line.event["event_id"])
        if entry is not None and entry["scenario"] == "INVALID_HOSPITAL":
            hospital = entry["original"]
        assert line.record["partition"] == partition_of(hospital) == (hospital - 1) % 4
        assert line.record["topic"] == "adt.events"
        assert line.record["key"] == (line.event.get("patient_id") or line.record["key"])


def test_batches_are_complete_ordered_and_described(landing: Path, lines: list[Line]) -> None:
    folders = sorted(p for p in events_root(landing).iterdir() if p.is_dir())
    assert folders == batches(landing)  # every folder is published
    names = [f.name for f in folders]
    assert [int(n.rsplit("-", 1)[1]) for n in names] == list(range(1, len(names) + 1))
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-\d{6}", n) for n in names)
    produced = [ts(line.record["producer_time"]) for line in lines]
    assert produced == sorted(produced) and len(set(produced)) == len(produced)
    per_batch = Counter(line.batch for line in lines)
    for folder in folders:
        manifest = read_manifest(folder)
        assert (folder / "dirty.json").is_file() and (folder / "events-0000.ndjson").is_file()
        assert manifest["records"] == manifest["lines"] == per_batch[folder.name]
        assert manifest["records"] <= PER_BATCH + 3  # re-sends due are flushed into the batch
        assert names[0] <= folder.name  # producer time first: names sort chronologically


def test_every_event_has_the_full_schema(lines: list[Line], landing: Path) -> None:
    truth = truth_by_event(landing)
    for line in lines:
        entry = truth.get(line.event["event_id"])
        if entry is not None and entry["scenario"] == "MISSING_FIELD":
            assert set(line.event) == EVENT_FIELDS - {entry["field"]}
        else:
            assert set(line.event) == EVENT_FIELDS  # 21 fields
    assert len(EVENT_FIELDS) >= 20


# -- the ground truth -----------------------------------------------------------------------------


def detected_dirt(line: Line, seen: set[str]) -> tuple[str, str] | None:
    """Recognise a garbled record by looking at it alone (a clean record never matches)."""
    event = line.event
    missing = EVENT_FIELDS - set(event)
    if missing:
        assert len(missing) == 1
        return "MISSING_FIELD", missing.pop()
    if event["event_id"] in seen:
        return "DUPLICATE_EVENT", "offset"
    seen.add(event["event_id"])
    if not 0 <= event["age"] <= 120:
        return "INVALID_AGE", "age"
    if ts(event["admission_time"]) > ts(event["event_time"]):
        return "FUTURE_ADMISSION", "admission_time"
    if event["discharge_time"] is not None and ts(event["discharge_time"]) < ts(event["admission_time"]):
        return "DISCHARGE_BEFORE_ADMISSION", "discharge_time"
    if event["department"] not in CANONICAL_DEPARTMENTS:
        return "DEPT_TYPO", "department"
    if not 1 <= event["hospital_id"] <= 7:
        return "INVALID_HOSPITAL", "hospital_id"
    return None


def test_ground_truth_lists_exactly_the_dirty_records(lines: list[Line], landing: Path) -> None:
    seen: set[str] = set()
    found = []
    for line in lines:
        dirt = detected_dirt(line, seen)
        if dirt is not None:
            found.append((line.event["event_id"], *dirt))
    listed = [(e["event_id"], e["scenario"], e["field"]) for e in read_dirty_manifests(landing)]
    assert Counter(found) == Counter(listed)
    assert {scenario for _, scenario, _ in listed} == set(SCENARIOS)


def test_ground_truth_values_match_the_files(lines: list[Line], landing: Path) -> None:
    truth = truth_by_event(landing)
    by_id: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_id[line.event["event_id"]].append(line)
    for event_id, entry in truth.items():
        copies = by_id[event_id]
        if entry["scenario"] == "DUPLICATE_EVENT":
            assert [c.record["offset"] for c in copies] == [entry["original"], entry["injected"]]
            assert copies[0].event == copies[1].event and copies[0].batch == copies[1].batch
            assert copies[0].record["partition"] == copies[1].record["partition"]
            continue
        (copy,) = copies
        assert copy.event.get(entry["field"]) == entry["injected"]
        assert entry["original"] is not None
        if entry["scenario"] == "DEPT_TYPO":
            assert DEPARTMENT_TYPOS[entry["injected"]] == entry["original"]
        if entry["scenario"] == "DISCHARGE_BEFORE_ADMISSION":
            assert copy.event["event_type"] == "DISCHARGE"
        if entry["scenario"] == "MISSING_FIELD":
            assert entry["field"] in {"patient_id", "event_type", "department"}
            assert copy.event.get("discharge_time") is None  # never the discharge that closes a stay


def test_manifest_counts_match_ground_truth(
    landing: Path, results: dict[date, AdtSimulationResult], lines: list[Line]
) -> None:
    for folder in batches(landing):
        manifest = read_manifest(folder)
        entries = json.loads((folder / "dirty.json").read_text(encoding="utf-8"))
        assert manifest["dirty"] == {s: sum(e["scenario"] == s for e in entries) for s in SCENARIOS}
        assert manifest["duplicates"] == manifest["dirty"]["DUPLICATE_EVENT"]
    for result in results.values():
        entries = [e for e in read_dirty_manifests(landing) if e["batch_id"] in result.batch_ids]
        assert result.dirty_by_scenario == {s: sum(e["scenario"] == s for e in entries) for s in SCENARIOS}
        day_lines = [line for line in lines if line.batch in result.batch_ids]
        assert result.events == len(day_lines)
    dirty = sum(sum(r.dirty_by_scenario.values()) for r in results.values())
    assert 0.08 < dirty / sum(r.events for r in results.values()) < 0.2  # 7 x 2%


def test_typos_map_to_canonical_names() -> None:
    assert set(DEPARTMENT_TYPOS.values()) == CANONICAL_DEPARTMENTS
    assert {
        "Emergancy",
        "EMERGENCY ",
        "PEDS",
        "Peds",
        "Cardiolgy",
        "Oncolgy",
        "Surgury",
        "ICU.",
        "Maternaty",
    } == set(DEPARTMENT_TYPOS)
    assert not set(DEPARTMENT_TYPOS) & CANONICAL_DEPARTMENTS


def test_dirty_rates_are_validated_and_zero_means_clean() -> None:
    with pytest.raises(ValueError):
        DirtyRates.uniform(0.2)  # 7 x 20% > 100%
    with pytest.raises(ValueError):
        DirtyRates(invalid_age=-0.1)
    records = list(dry_run(max_events=300, seed=7, day=DAY_ONE, dirty_rates=DirtyRates.clean()))
    assert len(records) == 300
    assert len({r["event"]["event_id"] for r in records}) == 300
    assert all(
        set(r["event"]) == EVENT_FIELDS and r["event"]["department"] in CANONICAL_DEPARTMENTS for r in records
    )


# -- the true census ------------------------------------------------------------------------------


def test_stays_follow_the_lifecycle(clean: list[dict[str, Any]]) -> None:
    stays: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in clean:
        stays[event["stay_id"]].append(event)
    assert len({e["event_id"] for e in clean}) == len(clean)
    open_by_patient: dict[str, str] = {}
    for event in clean:  # a patient is never in two beds at once
        if event["event_type"] == "ADMISSION":
            assert event["patient_id"] not in open_by_patient
            open_by_patient[event["patient_id"]] = event["stay_id"]
        elif event["event_type"] == "DISCHARGE":
            assert open_by_patient.pop(event["patient_id"]) == event["stay_id"]
    discharged = 0
    for stay_id, events in stays.items():
        first = events[0]
        assert first["event_type"] == "ADMISSION" and first["event_id"] == stay_id
        assert first["admission_time"] == first["event_time"] and first["discharge_time"] is None
        for before, after in itertools.pairwise(events):
            assert before["event_type"] != "DISCHARGE"
            assert ts(after["event_time"]) >= ts(before["event_time"])
            assert after["hospital_id"] == first["hospital_id"]
            if after["event_type"] == "TRANSFER":
                assert after["from_department"] == before["department"] != after["department"]
        for event in events:
            assert event["patient_id"] == first["patient_id"] and event["stay_id"] == stay_id
            assert event["admission_time"] == first["admission_time"]
            assert (event["from_department"] is not None) == (event["event_type"] == "TRANSFER")
            assert (event["discharge_time"] is not None) == (event["event_type"] == "DISCHARGE")
        last = events[-1]
        if last["event_type"] == "DISCHARGE":
            discharged += 1
            assert ts(last["discharge_time"]) == ts(last["event_time"]) > ts(last["admission_time"])
    assert discharged > 0.8 * len(stays)


def test_beds_are_never_double_booked_nor_over_capacity(clean: list[dict[str, Any]]) -> None:
    wards = load_wards()
    holder: dict[str, str] = {}
    bed_of: dict[str, str] = {}
    occupied: Counter[tuple[int, str]] = Counter()
    peak: Counter[tuple[int, str]] = Counter()

    def take(bed: str, stay: str) -> None:
        hospital, code, number = BED_ID.fullmatch(bed).groups()  # type: ignore[union-attr]
        ward = wards[(int(hospital), code)]
        assert 1 <= int(number) <= ward.beds
        assert bed not in holder, f"{bed} double-booked"
        holder[bed], bed_of[stay] = stay, bed
        occupied[(ward.hospital, code)] += 1
        peak[(ward.hospital, code)] = max(peak[(ward.hospital, code)], occupied[(ward.hospital, code)])
        assert occupied[(ward.hospital, code)] <= ward.beds

    def free(stay: str) -> None:
        bed = bed_of.pop(stay)
        del holder[bed]
        hospital, code, _ = BED_ID.fullmatch(bed).groups()  # type: ignore[union-attr]
        occupied[(int(hospital), code)] -= 1

    for event in clean:
        hospital, code, _ = BED_ID.fullmatch(event["bed_id"]).groups()  # type: ignore[union-attr]
        assert int(hospital) == event["hospital_id"] and NAMES[code] == event["department"]
        if event["event_type"] == "ADMISSION":
            take(event["bed_id"], event["stay_id"])
        elif event["event_type"] == "TRANSFER":
            free(event["stay_id"])
            take(event["bed_id"], event["stay_id"])
        else:
            assert bed_of[event["stay_id"]] == event["bed_id"]
            free(event["stay_id"])
    assert max(peak[key] / ward.beds for key, ward in wards.items()) > 0.8  # the census is busy


def test_patients_fit_their_wards_and_codes(clean: list[dict[str, Any]]) -> None:
    check_codes()
    ages_by_patient: dict[str, set[str]] = defaultdict(set)
    payers: dict[str, Counter[str]] = defaultdict(Counter)
    priorities: Counter[tuple[bool, str]] = Counter()
    for event in clean:
        code, age, department = event["diagnosis_code"], event["age"], event["department"]
        assert cm.is_valid_item(code) and cm.is_leaf(code), code
        assert re.fullmatch(r"P\d{7}", event["patient_id"]) and re.fullmatch(
            r"ADT-[0-9a-f]{12}", event["event_id"]
        )
        assert event["gender"] in {"M", "F"} and 0 <= age <= 110
        ages_by_patient[event["patient_id"]].add(event["gender"])
        if code.startswith("O"):
            assert department == "Maternity" and event["gender"] == "F" and 15 <= age <= 49
        if code.startswith("P"):
            assert age == 0
        if department == "Pediatrics":
            assert age < 18
        if department in {"Surgery", "Cardiology", "Oncology", "Maternity"}:
            assert age >= 18
        payers["65+" if age >= 65 else "child" if age < 18 else "adult"][event["insurance_type"]] += 1
        assert 38 <= event["heart_rate"] <= 190 and 72 <= event["o2_saturation"] <= 100
        assert event["bp_diastolic"] < event["bp_systolic"] and 35.0 <= event["temperature_c"] <= 41.5
        if event["event_type"] == "ADMISSION":
            priorities[(department == "Emergency", event["admission_priority"])] += 1
    assert all(len(genders) == 1 for genders in ages_by_patient.values())
    assert payers["child"]["medicare"] == 0
    assert payers["65+"].most_common(1)[0][0] == "medicare"
    assert priorities[(True, "Emergency")] > 1.5 * priorities[(True, "Urgent")]
    assert priorities[(True, "Elective")] == 0
    total = sum(priorities.values())
    share = {
        p: sum(n for (_, q), n in priorities.items() if q == p) / total
        for p in ("Emergency", "Urgent", "Elective")
    }
    assert (
        0.38 < share["Emergency"] < 0.52 and 0.3 < share["Urgent"] < 0.45 and 0.1 < share["Elective"] < 0.25
    )


def test_lengths_of_stay_fit_the_wards(clean: list[dict[str, Any]]) -> None:
    hours: dict[str, list[float]] = defaultdict(list)
    starts: dict[str, datetime] = {}
    for event in clean:
        if event["event_type"] != "DISCHARGE":
            starts[event["stay_id"]] = ts(event["event_time"])  # time entering the current ward
        else:
            hours[event["department"]].append(
                (ts(event["event_time"]) - starts[event["stay_id"]]).total_seconds() / 3600
            )
    assert statistics.median(hours["Emergency"]) < 12
    assert 24 <= statistics.median(hours["Maternity"]) <= 80
    assert statistics.median(hours["ICU"]) > 24 and statistics.median(hours["Oncology"]) > 48


def test_returning_patients_come_back_for_new_stays(clean: list[dict[str, Any]]) -> None:
    stays_per_patient = Counter(e["patient_id"] for e in clean if e["event_type"] == "ADMISSION")
    assert sum(1 for n in stays_per_patient.values() if n > 1) > 10


def test_the_flu_season_triples_demand_and_fills_the_network() -> None:
    assert seasonal_factor(date(2025, 1, 15)) == seasonal_factor(date(2024, 12, 1)) == 3.0
    assert seasonal_factor(date(2025, 6, 15)) == 1.0
    assert 1.0 < seasonal_factor(date(2025, 11, 15)) < 3.0

    def admissions_on(day: date) -> int:
        engine = Engine(EngineState.fresh(42, day - timedelta(days=5)), load_wards())
        for _ in engine.events(local_midnight(day)):
            pass
        return sum(
            e.event_type == "ADMISSION" for e in engine.events(local_midnight(day + timedelta(days=1)))
        )

    january, june = admissions_on(date(2025, 1, 15)), admissions_on(date(2025, 6, 11))
    assert january > 1.4 * june  # demand triples; beds cap what is admitted


# -- follow mode and recovery ---------------------------------------------------------------------


def test_follow_continues_the_topic_in_real_time(landing: Path, tmp_path: Path) -> None:
    root = tmp_path / "landing"
    shutil.copytree(landing, root)
    before = read_manifest(batches(root)[-1])
    seen: list[str] = []
    started = time.time()
    result = follow(
        root,
        events_per_second=300,
        duration_s=3.0,
        batch_seconds=0.5,
        dirty_rates=RATES,
        on_batch=lambda batch_id, records: seen.append(batch_id),
    )
    assert 3 <= len(result.batch_ids) <= 8 and seen == result.batch_ids
    assert 600 <= result.events <= 1000
    follow_manifests = [read_manifest(events_root(root) / b) for b in result.batch_ids]
    assert all(m["mode"] == "follow" and m["day"] is None for m in follow_manifests)
    assert "simulator_state" in follow_manifests[-1]
    first_offsets = {int(p): span[0] for p, span in follow_manifests[0]["offsets"].items() if span}
    assert all(first_offsets[p] == before["cursor"]["next_offsets"][p] for p in first_offsets)
    assert ts(follow_manifests[0]["event_time_range"][0]) >= ts(before["event_time_range"][1])
    assert ts(follow_manifests[0]["producer_time_range"][0]).timestamp() >= started  # wall clock
    assert_topic_is_sound(root)
    # the next daily run picks up where the stream stopped
    after = simulate_adt_day(root, day=DAY_TWO + timedelta(days=1), dirty_rates=RATES)
    assert after.batch_ids and after.batch_ids[0] > result.batch_ids[-1]
    assert_topic_is_sound(root)


def test_a_run_killed_between_checkpoints_resumes_without_reuse(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "landing"
    shutil.copytree(landing, root)
    monkeypatch.setattr(live, "STATE_EVERY", 1000)
    now = [1_800_000_000.0]
    result = follow(
        root,
        events_per_second=200,
        max_events=700,
        batch_seconds=1.0,
        dirty_rates=RATES,
        clock=lambda: now[0],
        sleep=lambda seconds: now.__setitem__(0, now[0] + max(seconds, 0.001)),
    )
    assert result.events >= 700 and len(result.batch_ids) >= 3
    # The process "died" before its last checkpoint: strip the state from the last batch,
    # and leave a half-written batch behind.
    last = events_root(root) / result.batch_ids[-1]
    manifest = read_manifest(last)
    del manifest["simulator_state"]
    (last / LANDING_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    orphan = events_root(root) / f"20300101T000000Z-{manifest['sequence'] + 1:06d}"
    orphan.mkdir()
    (orphan / "events-0000.ndjson").write_text("{}\n", encoding="utf-8")
    simulate_adt_day(root, day=DAY_TWO + timedelta(days=1), dirty_rates=RATES)
    assert not orphan.exists()
    assert_topic_is_sound(root)


def assert_topic_is_sound(root: Path) -> None:
    """Offsets gapless per partition, event ids unique, beds never double-booked, in a whole landing."""
    offsets: dict[int, list[int]] = defaultdict(list)
    for line in read_lines(root):
        offsets[line.record["partition"]].append(line.record["offset"])
    for seen in offsets.values():
        assert seen == list(range(len(seen)))
    events = clean_events(root)
    assert len({e["event_id"] for e in events}) == len(events)
    in_bed: set[str] = set()
    bed_of: dict[str, str] = {}
    for event in events:
        if event["event_type"] != "ADMISSION":
            in_bed.remove(bed_of.pop(event["stay_id"]))
        if event["event_type"] != "DISCHARGE":
            assert event["bed_id"] not in in_bed
            in_bed.add(event["bed_id"])
            bed_of[event["stay_id"]] = event["bed_id"]
