"""``load ehr-bulk`` on a real Postgres: ``_since`` from ``bronze.ehr__bulk_exports`` (the record
that survives a lost carehouse home), and the whole path — $export over loopback, staging, load —
with every exported line in bronze and a second export asking only for what changed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg

from ingestion.ehr.api.bulk import BulkOptions
from ingestion.ehr.api.bulk_client import BulkExportResult
from ingestion.ehr.api.bulk_keys import new_private_key_pem, signing_key
from ingestion.ehr.api.bulk_load import load_ehr_bulk_to_bronze, previous_transaction_time, record_export
from ingestion.ehr.api.server import serve
from ingestion.ehr.api.smart import BackendClient
from ingestion.ehr.simulator import simulate_ehr_extract
from warehouse.settings import Settings

KEY = signing_key(new_private_key_pem())
CLIENT = "integration-bulk-client"


def export(time: str) -> BulkExportResult:
    manifest = {
        "transactionTime": time,
        "request": "http://127.0.0.1/x/fhir/$export",
        "output": [],
        "error": [],
    }
    return BulkExportResult(Path("."), manifest, (), 0)


def test_since_is_the_latest_export_that_covers_the_request(scratch_warehouse: Settings) -> None:
    settings = scratch_warehouse
    assert previous_transaction_time(settings, "cerner") is None  # nothing recorded: a full export
    record_export(settings, "cerner", None, (), export("2025-03-01T06:00:00Z"), "20250301T060000Z")
    record_export(settings, "cerner", None, ("Patient",), export("2025-03-02T06:00:00.5Z"), "b2")
    record_export(settings, "cerner", "all", (), export("2025-03-03T06:00:00Z"), "b3")
    record_export(settings, "epic", None, (), export("2025-03-04T06:00:00Z"), "b4")
    assert previous_transaction_time(settings, "cerner") == "2025-03-01T06:00:00Z"  # all types only
    assert previous_transaction_time(settings, "cerner", types=["Patient"]) == "2025-03-02T06:00:00.5Z"
    assert (
        previous_transaction_time(settings, "cerner", types=["Patient", "Encounter"])
        == "2025-03-01T06:00:00Z"
    )
    assert previous_transaction_time(settings, "cerner", "all") == "2025-03-03T06:00:00Z"
    assert previous_transaction_time(settings, "cerner", "inpatients") is None


def bronze_ids(settings: Settings, table: str, batch_id: str) -> list[str]:
    with psycopg.connect(settings.dsn) as conn:
        rows = conn.execute(
            f"select resource->>'id' from bronze.{table} where batch_id = %s and ehr_system = 'athena'",
            (batch_id,),
        )
        return sorted(row[0] for row in rows)


def test_an_export_is_staged_and_loaded_and_the_next_one_asks_since_its_transaction_time(
    scratch_warehouse: Settings, tmp_path: Path
) -> None:

    settings = scratch_warehouse
    ehr = tmp_path / "the-ehr"  # what the EHR holds: not the warehouse's landing zone
    simulate_ehr_extract(ehr, extract_date=date(2025, 3, 1), patients=20)
    faults = BulkOptions(polls_until_done=1, retry_after_s=0, resources_per_file=50, throttle_first_poll=True)
    with serve(ehr, port=0, backend_clients=(BackendClient(CLIENT, KEY.public_jwks()),), bulk=faults) as api:
        options = {"fhir_base": api.fhir_base("athena"), "client_id": CLIENT, "key": KEY}
        first = load_ehr_bulk_to_bronze(settings, "athena", **options)
        assert first.since is None
        manifest = first.export.manifest
        for output in manifest["output"]:
            if output["type"] == "Encounter":
                assert len(bronze_ids(settings, "ehr__encounter", first.batch_id)) == sum(
                    o["count"] for o in manifest["output"] if o["type"] == "Encounter"
                )
        assert first.load.rows >= first.export.resources > 0

        simulate_ehr_extract(ehr, extract_date=date(2025, 3, 2), patients=20)
        second = load_ehr_bulk_to_bronze(settings, "athena", **options)
        unchanged = load_ehr_bulk_to_bronze(settings, "athena", **options)
    assert unchanged.since == second.export.transaction_time == unchanged.export.transaction_time
    assert (unchanged.export.files, unchanged.batch_id, unchanged.load.rows) == ((), "", 0)
    assert second.since == first.export.transaction_time
    assert "_since=" in second.export.manifest["request"]
    assert 0 < second.export.resources < first.export.resources
    with psycopg.connect(settings.dsn) as conn:
        logged = conn.execute(
            "select transaction_time_text, batch_id, manifest from bronze.ehr__bulk_exports"
        ).fetchall()
    expected = [
        (first.export.transaction_time, first.batch_id),
        (second.export.transaction_time, second.batch_id),
    ]
    expected.append((unchanged.export.transaction_time, ""))
    assert sorted(row[:2] for row in logged) == sorted(expected)
    assert manifest in [row[2] for row in logged]  # the completion manifest is kept beside it
