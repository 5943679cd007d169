"""The third EHR's FHIR Bulk Data export: a server's folder layout, US Core style, deterministic."""

from __future__ import annotations

import gzip
import importlib
import json
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingestion.ehr.simulator.bulk_export import MANIFEST_NAME, write_bulk_export
from orchestration.cli import app

DAY = date(2025, 3, 2)
PATIENTS = 150
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"


def read_export(folder: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.ndjson*")):
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
        out.setdefault(path.name.split(".")[0], []).extend(json.loads(line) for line in lines)
    return out


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "cerner"
    write_bulk_export(folder, export_date=DAY, patients=PATIENTS, seed=7)
    return folder


@pytest.fixture(scope="module")
def resources(export: Path) -> dict[str, list[dict[str, Any]]]:
    return read_export(export)


def test_same_arguments_give_identical_bytes_and_gzip_holds_the_same_lines(
    export: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    write_bulk_export(again, export_date=DAY, patients=PATIENTS, seed=7)
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in export.iterdir())
    for path in export.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    zipped = tmp_path / "zipped"
    write_bulk_export(zipped, export_date=DAY, patients=PATIENTS, seed=7, gzip=True)
    assert all(p.name.endswith(".ndjson.gz") for p in zipped.glob("*.ndjson*"))
    assert read_export(zipped) == read_export(export)
    other_seed = tmp_path / "other"
    write_bulk_export(other_seed, export_date=DAY, patients=PATIENTS, seed=8)
    assert (other_seed / "Patient.000.ndjson").read_bytes() != (export / "Patient.000.ndjson").read_bytes()


def test_manifest_is_a_completed_export_whose_counts_equal_the_file_lines(export: Path) -> None:
    manifest = json.loads((export / MANIFEST_NAME).read_text())
    assert manifest["transactionTime"] == "2025-03-03T05:00:00Z"
    assert manifest["request"].split("?")[0].endswith("/$export")
    assert "_type=" in manifest["request"] and manifest["requiresAccessToken"] is True
    listed = set()
    for entry in [*manifest["output"], *manifest["error"]]:
        name = entry["url"].rsplit("/", 1)[1]
        listed.add(name)
        lines = (export / name).read_text().splitlines()
        assert entry["count"] == len(lines) > 0
        assert {json.loads(line)["resourceType"] for line in lines} == {entry["type"]}
    assert listed == {p.name for p in export.glob("*.ndjson")}
    assert [e["type"] for e in manifest["error"]] == ["OperationOutcome"]
    types = {e["type"] for e in manifest["output"]}
    expected = {"Patient", "Encounter", "Condition", "Procedure", "Observation", "MedicationRequest"}
    expected |= {"Immunization", "AllergyIntolerance", "Practitioner", "Organization", "Location"}
    assert expected | {"Device", "DocumentReference"} <= types


def test_every_line_is_valid_r4b_with_a_uuid_id(resources: dict[str, list[dict[str, Any]]]) -> None:
    for resource_type, items in resources.items():
        module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
        model = getattr(module, resource_type)
        for index, resource in enumerate(items):
            if resource_type != "OperationOutcome":
                assert uuid.UUID(resource["id"]).version == 5
            if index % 4 == 0 or len(items) < 200:  # a sample of the big types keeps this fast
                model.model_validate(resource)


def _references(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    if not isinstance(node, dict):
        return []
    found = [node["reference"]] if isinstance(node.get("reference"), str) else []
    return found + [ref for key, value in node.items() if key != "reference" for ref in _references(value)]


def test_references_are_literal_or_conditional_and_resolve_but_rarely(
    resources: dict[str, list[dict[str, Any]]],
) -> None:
    ids = {(t, r["id"]) for t, items in resources.items() for r in items if "id" in r}
    identifiers = {
        (t, f"{i['system']}|{i['value']}")
        for t in ("Practitioner", "Organization")
        for r in resources[t]
        for i in r["identifier"]
    }
    conditional = Counter[str]()
    unresolved = Counter[str]()
    for items in resources.values():
        for resource in items:
            for ref in _references(resource):
                if "?identifier=" in ref:
                    target, token = ref.split("?identifier=")
                    assert target in ("Practitioner", "Organization") and token.startswith(NPI_SYSTEM + "|")
                    conditional[target] += 1
                    unresolved[target] += (target, token) not in identifiers
                else:
                    target, _, ident = ref.partition("/")
                    assert target not in ("Practitioner", "Organization")
                    assert (target, ident) in ids, ref  # literal references always resolve
    assert conditional["Practitioner"] > 1000 and conditional["Organization"] > 100
    assert unresolved["Organization"] == 0
    assert 0 < unresolved["Practitioner"] < 0.02 * conditional["Practitioner"]


def test_conditions_and_procedures_are_snomed_coded_for_a_part(
    resources: dict[str, list[dict[str, Any]]],
) -> None:
    systems = Counter(
        tuple(sorted({c["system"] for c in r["code"]["coding"]})) for r in resources["Condition"]
    )
    total = sum(systems.values())
    assert systems[(SNOMED,)] > 0.15 * total  # SNOMED CT only
    assert systems[(ICD10, SNOMED)] > 0.15 * total  # both
    assert systems[(ICD10,)] > 0  # long-tail codes without a concept
    assert any("encounter" not in r for r in resources["Condition"])  # a problem-list item
    procedure_systems = Counter(r["code"]["coding"][0]["system"] for r in resources["Procedure"])
    assert procedure_systems[SNOMED] > 0 and procedure_systems[CPT] > procedure_systems[SNOMED]


def test_encounters_use_the_wider_act_code_classes_and_mostly_finish(
    resources: dict[str, list[dict[str, Any]]],
) -> None:
    classes = Counter(r["class"]["code"] for r in resources["Encounter"])
    assert {"AMB", "EMER", "IMP", "VR", "HH", "OBSENC"} <= set(classes)
    statuses = Counter(r["status"] for r in resources["Encounter"])
    assert statuses.most_common(1)[0][0] == "finished"
    assert resources["OperationOutcome"] and all(r["issue"] for r in resources["OperationOutcome"])


def test_a_since_export_carries_only_what_changed_and_keeps_ids(export: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    result = write_bulk_export(first, export_date=DAY, patients=PATIENTS, seed=7)
    assert read_export(first) == read_export(export)
    later = tmp_path / "later"
    after = write_bulk_export(
        later,
        export_date=DAY + timedelta(days=2),
        start_date=DAY,
        since=result.transaction_time,
        patients=PATIENTS,
        seed=7,
    )
    assert "_since=2025-03-03T05:00:00Z" in json.loads((later / MANIFEST_NAME).read_text())["request"]
    changed = read_export(later)
    assert changed["Encounter"] and sum(after.counts.values()) < sum(result.counts.values()) / 5
    for resource_type, items in changed.items():
        for resource in items:
            if resource_type != "OperationOutcome":
                assert datetime.fromisoformat(resource["meta"]["lastUpdated"]) > result.transaction_time
    first_ids = {r["id"] for r in read_export(first)["Patient"]}
    updated = [r["id"] for r in changed.get("Patient", []) if r["id"] in first_ids]
    new = [r["id"] for r in changed.get("Patient", []) if r["id"] not in first_ids]
    assert updated or new


def test_cli_writes_an_export_and_refuses_a_used_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    args = ["simulate", "ehr-bulk-export", str(target), "--patients", "20", "--date", "2025-03-02"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Observation" in result.output and (target / MANIFEST_NAME).exists()
    wide = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}  # the error box must not wrap the message
    again = CliRunner().invoke(app, args, env=wide)
    assert again.exit_code != 0 and "already holds an export" in again.output
    unknown = CliRunner().invoke(app, [*args[:2], str(tmp_path / "x"), "--system", "nope"], env=wide)
    assert unknown.exit_code != 0 and "nope" in unknown.output
    assert CliRunner().invoke(app, ["simulate", "ehr-bulk-export", "--help"]).exit_code == 0
