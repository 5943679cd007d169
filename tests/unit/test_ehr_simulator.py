"""The EHR simulator: valid FHIR, deterministic, idempotent, incremental, realistically messy."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import simple_icd_10_cm as cm
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhir.resources.R4B.procedure import Procedure

from ingestion.ehr import resources
from ingestion.ehr.simulator import EHR_SYSTEMS, ENTITIES, SimulationResult, simulate_ehr_extract
from ingestion.ehr.simulator import extract as extract_module
from ingestion.ehr.simulator.identifiers import NPI_SYSTEM, is_valid_npi, make_npi
from ingestion.ehr.simulator.writer import EntityBatchWriter
from ingestion.landing import (
    LANDING_MANIFEST,
    batch_dir,
    batch_id_for,
    complete_batches,
    extract_date_of,
    read_manifest,
)

MODELS = {
    "Organization": Organization,
    "Location": Location,
    "Practitioner": Practitioner,
    "PractitionerRole": PractitionerRole,
    "Patient": Patient,
    "Coverage": Coverage,
    "Encounter": Encounter,
    "Condition": Condition,
    "Procedure": Procedure,
    "DiagnosticReport": DiagnosticReport,
    "Observation": Observation,
    "MedicationRequest": MedicationRequest,
    "Immunization": Immunization,
    "AllergyIntolerance": AllergyIntolerance,
}
ENCOUNTER_STATUSES = {"planned", "in-progress", "finished", "cancelled", "entered-in-error"}
DAY_ONE = date(2025, 3, 2)
DAY_TWO = date(2025, 3, 10)  # a Monday, a week on: enough booked visits come due
LATER_DAYS = (DAY_TWO, DAY_TWO + timedelta(days=1), DAY_TWO + timedelta(days=2))
PATIENTS = 1000
HOSPITAL_TZ = ZoneInfo("America/New_York")
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
PRIMARY_CARE = {"207Q00000X", "207R00000X", "208000000X"}
XHTML_DIV = '<div xmlns="http://www.w3.org/1999/xhtml">'


@dataclass(frozen=True)
class Line:
    system: str
    entity: str
    batch_id: str
    raw: str
    resource: dict[str, Any] | None  # None: not JSON


def read_lines(root: Path, batch_id: str | None = None) -> Iterator[Line]:
    for entity in ENTITIES:
        for path in complete_batch_files(root, "carehouse", "dev", "*", entity):
            system, _, batch = path.relative_to(root / "carehouse" / "dev").parts[:3]
            if batch_id is not None and batch != batch_id:
                continue
            for raw in path.read_text(encoding="utf-8").split("\n")[:-1]:
                try:
                    resource = json.loads(raw)
                except json.JSONDecodeError:
                    resource = None
                yield Line(system, entity, batch, raw, resource)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def latest_versions(lines: list[Line], entity: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(system, id) -> the version with the greatest lastUpdated (what silver keeps)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        res = line.resource
        if line.entity != entity or res is None or "id" not in res:
            continue
        key = (line.system, res["id"])
        if key not in latest or instant(res["meta"]["lastUpdated"]) > instant(
            latest[key]["meta"]["lastUpdated"]
        ):
            latest[key] = res
    return latest


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initial extract on day one and incremental ones on day two and the two days after."""
    root = tmp_path_factory.mktemp("landing")
    simulate_ehr_extract(root, extract_date=DAY_ONE, patients=PATIENTS)
    for day in LATER_DAYS:
        simulate_ehr_extract(root, extract_date=day, patients=PATIENTS)
    return root


@pytest.fixture(scope="module")
def initial_lines(landing: Path) -> list[Line]:
    return list(read_lines(landing, batch_id_for(DAY_ONE)))


@pytest.fixture(scope="module")
def later_lines(landing: Path) -> dict[date, list[Line]]:
    return {day: list(read_lines(landing, batch_id_for(day))) for day in LATER_DAYS}


@pytest.fixture(scope="module")
def incremental_lines(later_lines: dict[date, list[Line]]) -> list[Line]:
    return later_lines[DAY_TWO]


def complete_batch_files(root: Path, tenant: str, env: str, system: str, entity: str) -> list[Path]:
    """Data files of the complete batches (those with a manifest) of one entity, sorted."""
    folders = complete_batches(root, tenant, env, system, entity)
    return sorted(path for folder in folders for path in folder.glob("*.ndjson"))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- landing-zone contract


def test_batch_ids_and_folders(tmp_path: Path) -> None:
    assert batch_id_for(date(2025, 3, 2)) == "20250302T060000Z"
    assert extract_date_of("20250302T060000Z") == date(2025, 3, 2)
    folder = batch_dir(tmp_path, "t", "e", "epic", "patient", "20250302T060000Z")
    assert folder == tmp_path / "t" / "e" / "epic" / "patient" / "20250302T060000Z"


def test_a_batch_without_manifest_is_invisible(landing: Path) -> None:
    partial = batch_dir(landing, "carehouse", "dev", "epic", "patient", "20990101T060000Z")
    partial.mkdir(parents=True)
    (partial / "patient-0000.ndjson").write_text('{"resourceType":"Patient"}\n')
    try:
        files = complete_batch_files(landing, "carehouse", "dev", "*", "patient")
        assert files and partial / "patient-0000.ndjson" not in files
        assert files == sorted(files)
        assert {p.relative_to(landing).parts[2] for p in files} == set(EHR_SYSTEMS)
    finally:
        (partial / "patient-0000.ndjson").unlink()
        partial.rmdir()


def test_manifests_list_every_file_with_its_line_count_size_and_checksum(landing: Path) -> None:
    for system in EHR_SYSTEMS:
        for entity in ENTITIES:
            for day in (DAY_ONE, DAY_TWO):
                folder = batch_dir(landing, "carehouse", "dev", system, entity, batch_id_for(day))
                manifest = read_manifest(folder)
                on_disk = {
                    p.name: {
                        "lines": len(p.read_bytes().split(b"\n")) - 1,
                        "bytes": p.stat().st_size,
                        "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                    }
                    for p in folder.glob("*.ndjson")
                }
                assert manifest["files"] == on_disk
                assert manifest["lines"] == sum(f["lines"] for f in on_disk.values())
                assert (manifest["system"], manifest["entity"], manifest["seed"]) == (system, entity, 42)
                assert manifest["resource_type"] == resources.RESOURCE_TYPES[entity]
                assert manifest["kind"] == ("initial" if day == DAY_ONE else "incremental")
                assert not list(folder.glob(".*")), "temp files left behind"


def test_writer_rolls_parts_and_publishes_only_finished_ones(tmp_path: Path) -> None:
    writer = EntityBatchWriter(tmp_path, "patient", defects=None, part_lines=3)
    for number in range(7):
        writer.write({"resourceType": "Patient", "id": str(number)})
    assert sorted(p.name for p in tmp_path.glob("*.ndjson")) == ["patient-0000.ndjson", "patient-0001.ndjson"]
    assert writer.close() == {"patient-0000.ndjson": 3, "patient-0001.ndjson": 3, "patient-0002.ndjson": 1}
    assert not list(tmp_path.glob(".*"))
    crashed = EntityBatchWriter(tmp_path / "crashed", "patient", defects=None)
    crashed.write({"resourceType": "Patient", "id": "1"})
    crashed.abort()
    assert not list((tmp_path / "crashed").glob("*.ndjson"))


# ---------------------------------------------------------------- FHIR validity and content


def test_the_entity_list_is_the_shared_one() -> None:
    assert ENTITIES is resources.ENTITIES and EHR_SYSTEMS is resources.EHR_SYSTEMS
    assert {"coverage", "practitionerrole", "diagnosticreport"} <= set(ENTITIES)
    assert {"observation", "medicationrequest", "immunization", "allergyintolerance"} <= set(ENTITIES)


def test_every_well_formed_line_is_a_valid_r4_resource(
    initial_lines: list[Line], later_lines: dict[date, list[Line]]
) -> None:
    lines = initial_lines + [line for day in LATER_DAYS for line in later_lines[day]]
    seen = Counter(line.entity for line in lines if line.resource is not None)
    assert all(seen[entity] > 0 for entity in ENTITIES), seen
    for line in lines:
        assert "\n" not in line.raw and line.raw
        if line.resource is None:
            continue
        resource = line.resource
        assert resource["resourceType"] == resources.RESOURCE_TYPES[line.entity]
        MODELS[resource["resourceType"]].model_validate(resource)
        if line.entity == "encounter":
            assert resource["status"] in ENCOUNTER_STATUSES


def test_malformed_lines_are_rare_but_present_and_counted(tmp_path: Path) -> None:
    result = simulate_ehr_extract(tmp_path, extract_date=DAY_ONE, patients=PATIENTS)
    lines = list(read_lines(tmp_path))
    broken = sum(1 for line in lines if line.resource is None)
    missing_id = sum(1 for line in lines if line.resource is not None and "id" not in line.resource)
    assert broken > 0 and missing_id > 0
    assert broken + missing_id == result.malformed_lines
    assert result.malformed_lines / len(lines) < 0.012
    assert sum(result.lines_by_entity.values()) == len(lines)
    clean = [line for line in lines if line.entity in ("organization", "location")]
    assert all(line.resource is not None and "id" in line.resource for line in clean)


def test_status_mix_of_latest_encounter_versions(initial_lines: list[Line]) -> None:
    latest = latest_versions(initial_lines, "encounter")
    shares = {status: n / len(latest) for status, n in Counter(r["status"] for r in latest.values()).items()}
    assert shares["finished"] == pytest.approx(0.58, abs=0.05)
    assert shares["cancelled"] == pytest.approx(0.18, abs=0.05)
    assert shares["planned"] == pytest.approx(0.12, abs=0.04)
    assert shares["in-progress"] == pytest.approx(0.07, abs=0.04)
    assert shares["entered-in-error"] == pytest.approx(0.05, abs=0.03)


def test_encounters_are_coherent(initial_lines: list[Line]) -> None:
    patients = latest_versions(initial_lines, "patient")
    broken_patient_lines = sum(
        1 for line in initial_lines if line.entity == "patient" and line.resource is None
    )
    missing_subjects = set()
    for (system, _), res in latest_versions(initial_lines, "encounter").items():
        period = res["period"]
        assert instant(period["start"]).utcoffset() is not None
        if "end" in period:
            assert instant(period["end"]) > instant(period["start"])
        if res["status"] in ("planned", "in-progress", "cancelled"):
            assert "end" not in period
        assert res["class"]["code"] in ("AMB", "EMER", "IMP")
        subject = (system, res["subject"]["reference"].removeprefix("Patient/"))
        if subject not in patients:
            missing_subjects.add(subject)
        assert res["participant"][0]["individual"]["reference"].startswith("Practitioner/")
        assert res["serviceProvider"]["reference"].startswith("Organization/")
        assert res["location"][0]["location"]["reference"].startswith("Location/")
    # a subject may only be unknown when its own patient line was garbled (or lost its id)
    assert len(missing_subjects) <= broken_patient_lines + 5


def test_duplicates_are_resent_with_a_later_last_updated(initial_lines: list[Line]) -> None:
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for line in initial_lines:
        if line.entity == "encounter" and line.resource is not None and "id" in line.resource:
            seen.setdefault((line.system, line.resource["id"]), []).append(line.resource)
    repeated = [versions for versions in seen.values() if len(versions) > 1]
    assert 0.01 < len(repeated) / len(seen) < 0.06
    for first, second in repeated:
        assert instant(second["meta"]["lastUpdated"]) > instant(first["meta"]["lastUpdated"])
    assert any(first["status"] != second["status"] for first, second in repeated)


def test_icd10_codes_are_billable_and_weighted_to_common_ones(initial_lines: list[Line]) -> None:
    codes = Counter()
    for line in initial_lines:
        if line.entity == "condition" and line.resource is not None:
            coding = line.resource["code"]["coding"][0]
            assert coding["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
            assert cm.is_valid_item(coding["code"]) and cm.is_leaf(coding["code"]), coding["code"]
            assert coding["display"] == cm.get_description(coding["code"])
            codes[coding["code"]] += 1
    top = {code for code, _ in codes.most_common(5)}
    assert top & {"I10", "E11.9", "E78.5", "J06.9"}
    assert len(codes) > 60  # the long tail is there


def test_practitioner_npis_pass_the_luhn_check(initial_lines: list[Line]) -> None:
    assert make_npi("123456789") == "1234567893"  # CMS's worked example
    npis = [
        ident["value"]
        for line in initial_lines
        if line.entity == "practitioner" and line.resource is not None
        for ident in line.resource["identifier"]
        if ident["system"] == NPI_SYSTEM
    ]
    assert npis and all(is_valid_npi(npi) for npi in npis)
    assert len(set(npis)) == len(npis)


def test_systems_have_overlapping_ids_and_their_own_hospitals(initial_lines: list[Line]) -> None:
    patients = latest_versions(initial_lines, "patient")
    athena = {pid for system, pid in patients if system == "athena"}
    epic = {pid for system, pid in patients if system == "epic"}
    assert len(athena & epic) > 50
    assert patients[("athena", "17")]["identifier"][0]["system"] == "urn:carehouse:athena:mrn"
    assert patients[("epic", "17")]["identifier"][0]["system"] == "urn:carehouse:epic:mrn"
    orgs = latest_versions(initial_lines, "organization")
    assert sorted(int(i) for s, i in orgs if s == "athena") == [1, 2, 3, 4]
    assert sorted(int(i) for s, i in orgs if s == "epic") == [5, 6, 7]
    assert len(latest_versions(initial_lines, "location")) == 10


# ---------------------------------------------------------------- determinism and idempotency


def test_same_seed_and_date_give_identical_bytes(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate_ehr_extract(first, extract_date=DAY_ONE, patients=60)
    simulate_ehr_extract(second, extract_date=DAY_ONE, patients=60)
    simulate_ehr_extract(other, extract_date=DAY_ONE, patients=60, seed=7)
    assert snapshot(first) == snapshot(second)
    assert snapshot(first).keys() == snapshot(other).keys()
    assert snapshot(first) != snapshot(other)
    for day in LATER_DAYS:
        simulate_ehr_extract(first, extract_date=day, patients=60)
        simulate_ehr_extract(second, extract_date=day, patients=60)
    assert snapshot(first) == snapshot(second)


def test_rerunning_a_day_writes_nothing(landing: Path) -> None:
    before = snapshot(landing)
    mtimes = {p: p.stat().st_mtime_ns for p in landing.rglob("*")}
    again = simulate_ehr_extract(landing, extract_date=DAY_TWO, patients=PATIENTS)
    assert snapshot(landing) == before
    assert {p: p.stat().st_mtime_ns for p in landing.rglob("*")} == mtimes
    assert again.kind == "incremental"
    manifests = [read_manifest(path.parent) for path in landing.rglob(LANDING_MANIFEST)]
    assert sum(again.lines_by_entity.values()) == sum(
        m["lines"] for m in manifests if m["batch_id"] == batch_id_for(DAY_TWO)
    )


def test_extracts_must_move_forward_in_time(landing: Path) -> None:
    with pytest.raises(ValueError, match="date order"):
        simulate_ehr_extract(landing, extract_date=DAY_ONE - timedelta(days=1), patients=PATIENTS)


def test_a_crash_leaves_no_visible_batch_and_the_rerun_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    simulate_ehr_extract(clean, extract_date=DAY_ONE, patients=60)
    real_write_initial = extract_module.write_initial

    def write_then_crash(*args: Any, **kwargs: Any) -> None:
        real_write_initial(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(extract_module, "write_initial", write_then_crash)
    with pytest.raises(RuntimeError, match="disk full"):
        simulate_ehr_extract(crashed, extract_date=DAY_ONE, patients=60)
    assert not any(complete_batch_files(crashed, "carehouse", "dev", "*", entity) for entity in ENTITIES)
    # a writer killed mid-file leaves its temp file behind: the rerun clears it too
    folder = next(crashed.glob("carehouse/dev/*/encounter/*"))
    (folder / f".encounter-0000.ndjson.{os.getpid() + 1}.tmp").write_text('{"half": ')
    monkeypatch.undo()
    simulate_ehr_extract(crashed, extract_date=DAY_ONE, patients=60)
    assert snapshot(crashed) == snapshot(clean)


# ---------------------------------------------------------------- incremental extracts


def test_second_day_is_an_incremental_with_new_ids_and_updates(
    landing: Path, initial_lines: list[Line], incremental_lines: list[Line]
) -> None:
    result = simulate_ehr_extract(landing, extract_date=DAY_TWO, patients=PATIENTS)
    assert isinstance(result, SimulationResult) and result.kind == "incremental"
    assert result.lines_by_entity["organization"] == 0 and result.lines_by_entity["encounter"] > 0
    for system in EHR_SYSTEMS:
        day_one = read_manifest(
            batch_dir(landing, "carehouse", "dev", system, "patient", batch_id_for(DAY_ONE))
        )
        next_ids = day_one["simulator_state"]["next_ids"]
        for entity in ("patient", "coverage", "encounter", "condition", "procedure", "diagnosticreport"):
            before = {i: r for (s, i), r in latest_versions(initial_lines, entity).items() if s == system}
            updated = new = 0
            for line in incremental_lines:
                res = line.resource
                if line.system != system or line.entity != entity or res is None or "id" not in res:
                    continue
                if int(res["id"]) >= next_ids[entity]:
                    new += 1
                    continue
                updated += 1
                if res["id"] in before:
                    previous = before[res["id"]]["meta"]["lastUpdated"]
                    assert instant(res["meta"]["lastUpdated"]) > instant(previous)
            assert new > 0, (system, entity)
            if entity in ("patient", "coverage", "encounter"):
                assert updated > 0, (system, entity)
            else:
                assert updated == 0, (system, entity)


def test_incremental_closes_open_encounters_and_dates_new_ones_today(incremental_lines: list[Line]) -> None:
    encounters = [line.resource for line in incremental_lines if line.entity == "encounter" and line.resource]
    finished_today = [
        r for r in encounters if r["status"] == "finished" and instant(r["period"]["end"]).date() == DAY_TWO
    ]
    assert finished_today
    new_starts = {instant(r["period"]["start"]).date() for r in encounters if r["status"] != "planned"}
    assert DAY_TWO in new_starts


def test_default_scale_initial_extract(tmp_path: Path) -> None:
    """A mid-size clinic network: at least 25k encounters, 30k conditions and 45k procedures."""
    result = simulate_ehr_extract(tmp_path, extract_date=DAY_ONE)
    assert result.kind == "initial" and result.batch_id == "20250302T060000Z"
    assert result.patients == 5000
    assert result.encounters >= 25_000
    assert len(result.files) == len(EHR_SYSTEMS) * len(ENTITIES)
    practitioners = result.lines_by_entity["practitioner"]
    assert 180 <= practitioners <= 220

    def resources_of(entity: str) -> int:
        return sum(
            read_manifest(batch_dir(tmp_path, "carehouse", "dev", system, entity, result.batch_id))[
                "resources"
            ]
            for system in EHR_SYSTEMS
        )

    assert resources_of("condition") >= 30_000
    assert resources_of("procedure") >= 45_000
    assert resources_of("practitionerrole") == practitioners
    assert 5000 <= resources_of("coverage") <= 5000 * 1.2


# ---------------------------------------------------------------- coverage, roles, reports


def local_day(stamp: str) -> date:
    return instant(stamp).astimezone(HOSPITAL_TZ).date()


def malformed(lines: list[Line], entity: str) -> int:
    return sum(
        1 for line in lines if line.entity == entity and (line.resource is None or "id" not in line.resource)
    )


def test_clinical_volumes_per_patient_scale_to_a_mid_size_network(initial_lines: list[Line]) -> None:
    """Per patient, what 5,000 patients need: 25k encounters, 30k conditions, 45k procedures."""
    counts = {
        entity: len(latest_versions(initial_lines, entity))
        for entity in ("encounter", "condition", "procedure")
    }
    assert counts["encounter"] >= 5.0 * PATIENTS
    assert counts["condition"] >= 6.0 * PATIENTS
    assert counts["procedure"] >= 9.0 * PATIENTS


def test_diagnostic_reports_follow_a_third_of_finished_encounters(initial_lines: list[Line]) -> None:
    encounters = latest_versions(initial_lines, "encounter")
    finished = {key for key, res in encounters.items() if res["status"] == "finished"}
    reports = latest_versions(initial_lines, "diagnosticreport")
    reported = {
        (system, r["encounter"]["reference"].removeprefix("Encounter/")) for (system, _), r in reports.items()
    }
    assert len(reported) == len(reports), "one report per encounter at most"
    assert len(reported - finished) <= malformed(initial_lines, "encounter")
    assert 0.28 <= len(reported & finished) / len(finished) <= 0.42
    categories = Counter()
    for res in reports.values():
        assert res["status"] == "final"
        coding = res["code"]["coding"][0]
        assert coding["system"] == "http://loinc.org" and coding["display"]
        category = res["category"][0]["coding"][0]
        assert category["system"] == "http://terminology.hl7.org/CodeSystem/v2-0074"
        categories[category["code"]] += 1
        conclusion = res["conclusion"]
        assert conclusion and conclusion.endswith(".") and len(conclusion) < 120
        assert res["text"] == {"status": "generated", "div": f"{XHTML_DIV}{conclusion}</div>"}
        assert instant(res["issued"]) >= instant(res["effectiveDateTime"])
        assert res["meta"]["lastUpdated"] and res["subject"]["reference"].startswith("Patient/")
    assert {"LAB", "RAD", "EC"} <= set(categories)
    preliminary = [
        line
        for line in initial_lines
        if line.entity == "diagnosticreport"
        and line.resource
        and line.resource.get("status") == "preliminary"
    ]
    assert preliminary, "some reports are sent preliminary first"


def test_every_practitioner_has_one_role_at_a_facility_of_its_organization(initial_lines: list[Line]) -> None:
    practitioners = latest_versions(initial_lines, "practitioner")
    roles = latest_versions(initial_lines, "practitionerrole")
    locations = latest_versions(initial_lines, "location")
    assert len(roles.keys() - practitioners.keys()) == 0
    assert len(practitioners.keys() - roles.keys()) <= malformed(initial_lines, "practitionerrole")
    for (system, role_id), role in roles.items():
        assert role["active"] is True and role["practitioner"]["reference"] == f"Practitioner/{role_id}"
        assert role["specialty"][0]["coding"][0]["system"] == NUCC_SYSTEM
        location_id = role["location"][0]["reference"].removeprefix("Location/")
        managing = locations[(system, location_id)]["managingOrganization"]["reference"]
        assert managing == role["organization"]["reference"]
    assert len({role["specialty"][0]["coding"][0]["code"] for role in roles.values()}) >= 8


def test_patients_have_a_primary_care_provider_and_age_fitting_insurance(initial_lines: list[Line]) -> None:
    patients = latest_versions(initial_lines, "patient")
    roles = latest_versions(initial_lines, "practitionerrole")
    with_gp = [(system, res) for (system, _), res in patients.items() if "generalPractitioner" in res]
    assert len(with_gp) / len(patients) >= 0.9
    specialties = [
        roles[(system, res["generalPractitioner"][0]["reference"].removeprefix("Practitioner/"))]
        for system, res in with_gp
        if (system, res["generalPractitioner"][0]["reference"].removeprefix("Practitioner/")) in roles
    ]
    primary = sum(1 for role in specialties if role["specialty"][0]["coding"][0]["code"] in PRIMARY_CARE)
    assert primary / len(specialties) >= 0.85

    by_age: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
    for (system, _), coverage in latest_versions(initial_lines, "coverage").items():
        coding = coverage["type"]["coding"][0]
        assert coding["system"] == "urn:carehouse:insurance-type"
        assert coverage["payor"][0]["display"]
        if coverage["status"] != "active":
            assert coverage["status"] == "cancelled" and "end" in coverage["period"]
            continue
        key = (system, coverage["beneficiary"]["reference"].removeprefix("Patient/"))
        if key in patients:
            born = date.fromisoformat(patients[key]["birthDate"])
            by_age[(DAY_ONE - born).days >= 65 * 365.25][coding["code"]] += 1
    seniors, others = by_age[True], by_age[False]
    assert seniors["medicare"] / sum(seniors.values()) > 0.7
    assert others["commercial"] / sum(others.values()) > 0.5
    assert {"commercial", "medicare", "medicaid", "self-pay"} <= set(seniors + others)


def test_patients_move_and_change_pcp_and_insurance_day_by_day(
    initial_lines: list[Line], later_lines: dict[date, list[Line]]
) -> None:
    patients = latest_versions(initial_lines, "patient")
    coverages = latest_versions(initial_lines, "coverage")
    for day, lines in later_lines.items():
        moved = new_pcp = 0
        day_patients = latest_versions(lines, "patient")
        for key, res in day_patients.items():
            before = patients.get(key)
            if before is None:  # registered today (or its earlier line was garbled)
                continue
            assert instant(res["meta"]["lastUpdated"]) > instant(before["meta"]["lastUpdated"])
            assert local_day(res["meta"]["lastUpdated"]) == day
            assert (res["name"], res["birthDate"]) == (before["name"], before["birthDate"])
            moved += res["address"] != before["address"]
            new_pcp += res.get("generalPractitioner") != before.get("generalPractitioner")
        assert moved > 0 and new_pcp > 0, day
        patients.update(day_patients)

        day_coverages = latest_versions(lines, "coverage")
        cancelled = {
            key: res
            for key, res in day_coverages.items()
            if key in coverages and res["status"] == "cancelled"
        }
        assert cancelled, day
        started = {
            (system, res["beneficiary"]["reference"])
            for (system, _), res in day_coverages.items()
            if res["status"] == "active" and res["period"]["start"] == day.isoformat()
        }
        for key, res in cancelled.items():
            before = coverages[key]
            assert res["period"]["end"] == day.isoformat()
            assert (res["payor"], res["period"]["start"]) == (before["payor"], before["period"]["start"])
        replaced = {
            (system, res["beneficiary"]["reference"])
            for (system, _), res in day_coverages.items()
            if res["status"] == "cancelled"
        }
        assert len(replaced - started) <= malformed(lines, "coverage")
        coverages.update(day_coverages)


def test_coverage_changes_keep_exactly_one_active_coverage_per_patient(
    initial_lines: list[Line], later_lines: dict[date, list[Line]]
) -> None:
    lines = initial_lines + [line for day in LATER_DAYS for line in later_lines[day]]
    latest = latest_versions(lines, "coverage")
    active = Counter(
        (system, res["beneficiary"]["reference"])
        for (system, _), res in latest.items()
        if res["status"] == "active"
    )
    covered = {(system, res["beneficiary"]["reference"]) for (system, _), res in latest.items()}
    wrong = [patient for patient in covered if active[patient] != 1]
    # only a garbled (truncated or id-less) coverage line can leave a patient with 0 or 2
    assert len(wrong) <= malformed(lines, "coverage")
    assert len(covered) >= 0.99 * len(latest_versions(lines, "patient"))


def test_practitioners_change_department_or_facility(
    initial_lines: list[Line], later_lines: dict[date, list[Line]]
) -> None:
    roles = latest_versions(initial_lines, "practitionerrole")
    for day, lines in later_lines.items():
        changed = latest_versions(lines, "practitionerrole")
        assert changed, day
        for key, res in changed.items():
            before = roles[key]
            assert instant(res["meta"]["lastUpdated"]) > instant(before["meta"]["lastUpdated"])
            assert local_day(res["meta"]["lastUpdated"]) == day
            assert (res["specialty"], res["location"]) != (before["specialty"], before["location"])
        roles.update(changed)
