"""Landing batches are verified against their manifests before anyone loads them.

A tampered landing zone (a listed file missing, one emptied, an unlisted file, a batch left
without a manifest, a file with a byte-order mark) is loaded with the real command line: no
file of a failed batch reaches bronze, nothing unlisted does, every problem is recorded in
``bronze.landing__batches`` and named by the command, the Dagster check that gates every loader
fails, and a repaired batch loads on the next run. Real Postgres, real dlt, real Dagster.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import psycopg
import pytest
from dagster import materialize

from ingestion.ehr.simulator import simulate_ehr_extract
from ingestion.landing import LANDING_MANIFEST, batch_dir, batch_id_for, read_manifest, write_manifest
from orchestration.assets.landing_audit import landing_batches
from orchestration.checks.landing import landing_batches_match_their_manifests
from tests.faults import cli_env, run_cli
from warehouse.settings import Settings

DAY = date(2025, 3, 1)
BATCH = batch_id_for(DAY)


def _query(settings: Settings, text: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(text, params).fetchall()


def _batch(settings: Settings, system: str, entity: str, batch_id: str = BATCH) -> Path:
    return batch_dir(settings.landing_dir, settings.tenant, settings.environment, system, entity, batch_id)


def _relative(settings: Settings, path: Path) -> str:
    return path.relative_to(settings.landing_dir).as_posix()


@pytest.fixture
def tampered(scratch_warehouse: Settings) -> Settings:
    settings = scratch_warehouse
    simulate_ehr_extract(
        settings.landing_dir, extract_date=DAY, seed=3, patients=40, tenant=settings.tenant,
        env=settings.environment,
    )  # fmt: skip
    # athena's encounters: a listed file is gone (kept aside, to be restored)
    missing = next(_batch(settings, "athena", "encounter").glob("*.ndjson"))
    shutil.move(missing, settings.home / "kept-aside.ndjson")
    # epic's conditions: a listed file emptied to 0 bytes
    next(_batch(settings, "epic", "condition").glob("*.ndjson")).write_bytes(b"")
    # athena's procedures: a file the manifest does not list (and one of another kind)
    extra = _batch(settings, "athena", "procedure") / "procedure-9999.ndjson"
    extra.write_text('{"resourceType": "Procedure", "id": "smuggled"}\n')
    (extra.parent / "readme.txt").write_text("not data")
    # a batch that never got its manifest, long ago
    orphan = _batch(settings, "epic", "patient", "20250228T060000Z")
    orphan.mkdir(parents=True)
    (orphan / "patient-0000.ndjson").write_text('{"resourceType": "Patient", "id": "p0"}\n')
    os.utime(orphan / "patient-0000.ndjson", (1_700_000_000, 1_700_000_000))
    # a vendor file that starts with a byte-order mark (its manifest made over the same bytes)
    bom = _batch(settings, "epic", "organization")
    organization = next(bom.glob("*.ndjson"))
    organization.write_bytes(b"\xef\xbb\xbf" + organization.read_bytes())
    manifest = read_manifest(bom)
    extra_facts = {k: v for k, v in manifest.items() if k not in ("files", "lines")}
    (bom / LANDING_MANIFEST).unlink()
    write_manifest(bom, list(manifest["files"]), extra_facts)
    return settings


def test_only_verified_files_load_and_every_problem_is_recorded_and_named(tampered: Settings) -> None:
    settings = tampered
    loaded = run_cli(settings, "load", "ehr")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    output = " ".join(loaded.stdout.split())

    audit = dict(_query(settings, "select batch_path, status from bronze.landing__batches"))
    encounter = _relative(settings, _batch(settings, "athena", "encounter"))
    condition = _relative(settings, _batch(settings, "epic", "condition"))
    procedure = _relative(settings, _batch(settings, "athena", "procedure"))
    orphan = _relative(settings, _batch(settings, "epic", "patient", "20250228T060000Z"))
    assert audit[encounter] == "failed" and audit[condition] == "failed"
    assert audit[procedure] == "stray_files" and audit[orphan] == "no_manifest"
    assert {
        status for path, status in audit.items() if path not in (encounter, condition, procedure, orphan)
    } == {"verified"}
    for batch in (encounter, condition, procedure, orphan):
        assert f"landing batch problem: {batch}" in output, output
    assert "listed in the manifest, missing" in output and "the file has 0" in output
    assert "procedure-9999.ndjson: not in the manifest, not loaded" in output

    # a failed batch is loaded by no one; a stray file never; the batch around it is
    in_bronze = {row[0] for row in _query(settings, "select source_file from bronze.ehr__file_log")}
    assert not any(f.startswith((encounter, condition, orphan)) for f in in_bronze)
    assert any(f.startswith(procedure) for f in in_bronze)
    assert not _query(settings, "select 1 from bronze.ehr__procedure where resource->>'id' = 'smuggled'")
    assert not _query(settings, "select 1 from bronze.ehr__encounter where ehr_system = 'athena'")

    # the byte-order mark is stripped, line 1 is kept
    first = _query(
        settings,
        "select resource->>'resourceType' from bronze.ehr__organization where ehr_system = 'epic'"
        " and line_number = 1",
    )
    assert first == [("Organization",)]
    assert not _query(settings, "select 1 from bronze.ehr__rejected_line where entity = 'organization'")

    # the repaired batch loads on the next run; the other problems stay open, once each
    _restore_the_missing_file(settings)
    again = run_cli(settings, "load", "ehr")
    assert again.returncode == 0, again.stdout + again.stderr
    audit = dict(_query(settings, "select batch_path, status from bronze.landing__batches"))
    assert audit[encounter] == "verified"
    assert _query(settings, "select count(*) > 0 from bronze.ehr__encounter where ehr_system = 'athena'") == [
        (True,)
    ]
    problems = _query(settings, "select batch_path from bronze.landing__batches where status <> 'verified'")
    assert sorted(p for (p,) in problems) == sorted([condition, procedure, orphan])


def _restore_the_missing_file(settings: Settings) -> None:
    folder = _batch(settings, "athena", "encounter")
    (name,) = [name for name in read_manifest(folder)["files"] if not (folder / name).exists()]
    shutil.move(settings.home / "kept-aside.ndjson", folder / name)


def _check(settings: Settings) -> tuple[bool, int]:
    """Materialize the landing audit with its blocking check: (passed, open problems)."""
    result = materialize([landing_batches, landing_batches_match_their_manifests], raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "landing_batches_match_their_manifests"
    return evaluation.passed, evaluation.metadata["open_problems"].value


def test_the_blocking_check_fails_until_every_batch_is_repaired_or_removed(
    tampered: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tampered
    for name, value in cli_env(settings).items():
        monkeypatch.setenv(name, value)
    assert _check(settings) == (False, 4)
    # the operator restores the missing file, deletes the stray ones, and moves the emptied batch
    # and the one without a manifest out of the landing zone
    encounter = _batch(settings, "athena", "encounter")
    _restore_the_missing_file(settings)
    procedure = _batch(settings, "athena", "procedure")
    (procedure / "procedure-9999.ndjson").unlink()
    (procedure / "readme.txt").unlink()
    condition, orphan = (
        _batch(settings, "epic", "condition"),
        _batch(settings, "epic", "patient", "20250228T060000Z"),
    )
    for folder in (condition, orphan):
        shutil.move(folder, settings.home / folder.name)
    assert _check(settings) == (True, 0)
    audit = dict(_query(settings, "select batch_path, status from bronze.landing__batches"))
    statuses = {
        folder: audit[_relative(settings, folder)] for folder in (encounter, procedure, condition, orphan)
    }
    assert statuses == {encounter: "verified", procedure: "verified", condition: "removed", orphan: "removed"}
