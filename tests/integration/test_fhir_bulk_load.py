"""`carehouse load fhir-bulk` on a real Postgres: a hand-made US Core export of a third EHR,
registered as ONE extra entry in a copy of the EHR registry, lands in bronze line for line, every
resource type included; a folder of a system the registry does not list is reported, not loaded."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from ingestion.ehr.registry import DEFAULT_REGISTRY_PATH, ENV_EHR_REGISTRY
from ingestion.landing import batch_dir, write_manifest
from orchestration.cli import app
from warehouse.settings import ENV_DSN, ENV_HOME, Settings

BATCH_ID = "20250302T063015Z"  # the export's transactionTime in UTC
NPI = "http://hl7.org/fhir/sid/us-npi"


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"carehouse-test-{i}")) for i in range(n)]


def _ndjson(resources: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in resources)


def _export(folder: Path) -> dict[str, int]:
    """A small US Core export: UUID ids, conditional references, SNOMED codes, two types silver
    does not model (Device, DocumentReference: one of its lines is not JSON), an error file."""
    folder.mkdir()
    patients, encounters = _ids(3), _ids(5)[3:]
    files = {
        "Patient.000.ndjson": [
            {"resourceType": "Patient", "id": p, "birthDate": "1970-01-01", "gender": "female"}
            for p in patients
        ],
        "Encounter.000.ndjson.gz": [
            {
                "resourceType": "Encounter",
                "id": e,
                "status": "finished",
                "class": {"code": "VR"},
                "subject": {"reference": f"Patient/{patients[0]}"},
                "participant": [{"individual": {"reference": f"Practitioner?identifier={NPI}|9999974493"}}],
            }
            for e in encounters
        ],
        "Condition.000.ndjson": [
            {
                "resourceType": "Condition",
                "id": c,
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
                "subject": {"reference": f"Patient/{patients[1]}"},
            }
            for c in _ids(7)[5:]
        ],
        "Device.000.ndjson": [
            {"resourceType": "Device", "id": _ids(8)[7], "patient": {"reference": "Patient/x"}}
        ],
        "DocumentReference.000.ndjson": [
            {"resourceType": "DocumentReference", "id": _ids(9)[8], "status": "current"}
        ],
        "errors.ndjson": [
            {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing"}]}
        ],
    }
    for name, resources in files.items():
        data = _ndjson(resources)
        if name == "DocumentReference.000.ndjson":
            data += b'{"resourceType": "DocumentRef\n'  # cut off mid-line: rejected, never dropped
        (folder / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    lines = {
        name: len(resources) + (name == "DocumentReference.000.ndjson") for name, resources in files.items()
    }
    output = [
        {"type": name.split(".")[0], "url": f"https://cerner.example.org/bulk/{name}", "count": count}
        for name, count in lines.items()
        if name != "errors.ndjson"
    ]
    manifest = {
        "transactionTime": "2025-03-02T06:30:15Z",
        "request": "https://cerner.example.org/fhir/Group/g1/$export",
        "requiresAccessToken": True,
        "output": output,
        "error": [{"type": "OperationOutcome", "url": "https://cerner.example.org/bulk/errors.ndjson"}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return lines


@pytest.fixture
def cerner_env(
    scratch_warehouse: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    document = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))
    document["systems"].append(
        {"name": "cerner", "arrives": "bulk_export", "description": "A third EHR: US Core Bulk Data exports."}
    )
    registry = tmp_path / "ehr_systems.yaml"
    registry.write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {
        ENV_EHR_REGISTRY: str(registry),
        ENV_DSN: str(scratch_warehouse.external_dsn),
        ENV_HOME: str(scratch_warehouse.home),
        "COLUMNS": "200",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the CLI and the loaders read the environment
    return env


def _carehouse(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


def _rows(settings: Settings, table: str) -> int:
    with psycopg.connect(settings.dsn) as conn:
        query = f"select count(*) from bronze.{table} where ehr_system = 'cerner'"
        return conn.execute(query).fetchone()[0]


def test_a_bulk_export_of_a_new_ehr_lands_every_line_and_type(
    scratch_warehouse: Settings, cerner_env: dict[str, str], tmp_path: Path
) -> None:
    settings = scratch_warehouse
    lines = _export(tmp_path / "export")
    # a system nobody registered drops a batch: reported, never loaded
    stray = batch_dir(
        settings.landing_dir, settings.tenant, settings.environment, "meditech", "patient", BATCH_ID
    )
    stray.mkdir(parents=True)
    (stray / "Patient.000.ndjson").write_bytes(_ndjson([{"resourceType": "Patient", "id": "m1"}]))
    write_manifest(stray, ["Patient.000.ndjson"], {"kind": "test"})

    code, output = _carehouse("load", "fhir-bulk", str(tmp_path / "export"), "--system", "cerner")
    assert code == 0, output
    assert f"staged: batch {BATCH_ID} of cerner (2025-03-02T06:30:15Z, transactionTime)" in output
    assert "device: 1 lines" in output and "documentreference: 2 lines" in output
    assert "6 new file(s), 10 rows into bronze, 1 rejected" in output
    for table in ("ehr__device", "ehr__documentreference", "ehr__operationoutcome"):
        assert f"1 rows in bronze.{table}: not modeled in silver yet" in output
    assert "not loaded: meditech: 1 NDJSON file(s): system 'meditech' is not in the EHR registry" in output

    # every line of the export is in bronze: a resource row or a rejected line, with lineage
    assert {
        table: _rows(settings, f"ehr__{table}")
        for table in ("patient", "encounter", "condition", "device", "documentreference", "operationoutcome")
    } == {
        "patient": 3,
        "encounter": 2,
        "condition": 2,
        "device": 1,
        "documentreference": 1,
        "operationoutcome": 1,
    }
    assert sum(lines.values()) == 3 + 2 + 2 + 1 + 2 + 1
    with psycopg.connect(settings.dsn) as conn:
        rejected = conn.execute(
            "select entity, line_number, source_file from bronze.ehr__rejected_line"
            " where ehr_system = 'cerner'"
        ).fetchall()
        assert rejected == [
            (
                "documentreference",
                2,
                f"carehouse/dev/cerner/documentreference/{BATCH_ID}/DocumentReference.000.ndjson",
            )
        ]
        ids = {row[0] for row in conn.execute("select resource->>'id' from bronze.ehr__patient")}
        assert ids == set(_ids(3))  # UUIDs as sent; meditech's patient is not there
        lineage = conn.execute(
            "select distinct batch_id, source_file from bronze.ehr__encounter where ehr_system = 'cerner'"
        ).fetchall()
        assert lineage == [(BATCH_ID, f"carehouse/dev/cerner/encounter/{BATCH_ID}/Encounter.000.ndjson")]
        # the resource of the unmodeled types routes every row to its type's table: none of its own
        assert conn.execute("select to_regclass('bronze.ehr__other_resources')").fetchone() == (None,)
        systems = conn.execute("select name, arrives from bronze.ehr__systems order by name").fetchall()
        assert systems == [("athena", "landing_files"), ("cerner", "bulk_export"), ("epic", "landing_files")]
        logged = conn.execute(
            "select entity, lines, rows_loaded, rows_rejected from bronze.ehr__file_log order by entity"
        ).fetchall()
        assert [row[0] for row in logged] == [
            "condition", "device", "documentreference", "encounter", "operationoutcome", "patient"
        ]  # fmt: skip
        assert sum(row[1] for row in logged) == sum(lines.values())

    code, output = _carehouse("load", "fhir-bulk", str(tmp_path / "export"), "--system", "cerner")
    assert code == 0, output
    assert f"already staged: batch {BATCH_ID} of cerner" in output
    assert "0 new file(s), 0 rows into bronze" in output
    assert "1 rows in bronze.ehr__device: not modeled in silver yet" in output  # still said
    assert _rows(settings, "ehr__patient") == 3 and _rows(settings, "ehr__documentreference") == 1


def test_a_system_the_registry_does_not_list_is_one_line(cerner_env: dict[str, str], tmp_path: Path) -> None:
    _export(tmp_path / "export")
    code, output = _carehouse("load", "fhir-bulk", str(tmp_path / "export"), "--system", "meditech")
    assert code == 1
    assert output.startswith("error: EHR system 'meditech' is not in the EHR registry")
    assert "add an entry" in output
    code, output = _carehouse("load", "fhir-bulk", str(tmp_path / "nowhere"), "--system", "cerner")
    assert (code, output) == (
        1,
        f"error: {tmp_path / 'nowhere'} is not a folder: give the folder a Bulk Data export was saved in",
    )
