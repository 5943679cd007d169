"""The EHR FHIR API path on a real Postgres and a real server on loopback: lineage, incremental
loads, no leaked secrets, and parity with the file path (same current version of every resource)."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import date, datetime

import psycopg
import pytest

from ingestion.ehr.api.credentials import ENV_CLIENT_ID, ENV_CLIENT_SECRET
from ingestion.ehr.api.pipeline import load_ehr_api_to_bronze
from ingestion.ehr.api.server import serve
from ingestion.ehr.bronze import bronze_table
from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.ehr.resources import EHR_SYSTEMS, ENTITIES
from ingestion.ehr.simulator import simulate_ehr_extract
from ingestion.landing import complete_batches
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

DAY_1, DAY_2 = date(2025, 3, 1), date(2025, 3, 2)
PAGE_SIZE = 100
Version = tuple[str, str, str, str]  # (bronze table, ehr_system, resource id, meta.lastUpdated)


def simulate(settings: Settings, day: date) -> None:
    simulate_ehr_extract(
        settings.landing_dir, extract_date=day, patients=60, tenant=settings.tenant, env=settings.environment
    )


def landed_current_versions(settings: Settings) -> set[Version]:
    """Latest version per id of the landing zone's well-formed lines, read straight from the files."""
    versions: set[Version] = set()
    for entity in ENTITIES:
        for system in EHR_SYSTEMS:
            best: dict[str, tuple[tuple[datetime, str, int, str], str]] = {}
            batches = complete_batches(
                settings.landing_dir, settings.tenant, settings.environment, system, entity
            )
            for batch in batches:
                for path in sorted(batch.glob("*.ndjson")):
                    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
                        try:
                            resource = json.loads(line)
                        except ValueError:
                            continue
                        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
                            stamp = resource["meta"]["lastUpdated"]
                            rank = (datetime.fromisoformat(stamp), batch.name, number, path.name)
                            if resource["id"] not in best or rank > best[resource["id"]][0]:
                                best[resource["id"]] = (rank, stamp)
            versions.update((bronze_table(entity), system, rid, stamp) for rid, (_, stamp) in best.items())
    return versions


def existing_tables(conn: psycopg.Connection) -> list[str]:
    wanted = [bronze_table(entity) for entity in ENTITIES]
    rows = conn.execute(
        "select table_name from information_schema.tables"
        " where table_schema = 'bronze' and table_name = any(%s)",
        (wanted,),
    )
    return sorted(row[0] for row in rows)


def api_rows(settings: Settings, where: str = "true") -> list[Version]:
    """Every API row of bronze as a version (duplicates kept, so a double load would show)."""
    with psycopg.connect(settings.dsn) as conn:
        return [
            (table, *row)
            for table in existing_tables(conn)
            for row in conn.execute(
                f"select ehr_system, resource->>'id', resource->'meta'->>'lastUpdated' from bronze.{table}"
                f" where batch_id like %s and {where}",
                ("api-%",),
            )
        ]


def latest_per_id(settings: Settings, *, api: bool) -> set[Version]:
    """Each path's latest version per (system, id), ranked as silver ranks versions."""
    path_filter = "like" if api else "not like"
    found: set[Version] = set()
    with psycopg.connect(settings.dsn) as conn:
        for table in existing_tables(conn):
            rows = conn.execute(
                f"""
                with versions as (
                    select ehr_system, resource->>'id' as id,
                        resource->'meta'->>'lastUpdated' as last_updated,
                        row_number() over (
                            partition by ehr_system, resource->>'id'
                            order by (resource->'meta'->>'lastUpdated')::timestamptz desc nulls last,
                                batch_id desc, line_number desc, source_file desc
                        ) as version_rank
                    from bronze.{table}
                    where batch_id {path_filter} %s and jsonb_typeof(resource->'id') = 'string'
                )
                select ehr_system, id, last_updated from versions where version_rank = 1
                """,
                ("api-%",),
            )
            found.update((table, *row) for row in rows)
    return found


def test_api_loads_land_what_changed_with_lineage_and_never_a_secret(
    scratch_warehouse: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    client_secret = "integration-secret-" + secrets.token_hex(16)
    monkeypatch.setenv(ENV_CLIENT_ID, "integration-client")  # server and loader both resolve these
    monkeypatch.setenv(ENV_CLIENT_SECRET, client_secret)
    caplog.set_level(logging.DEBUG)
    simulate(settings, DAY_1)
    with serve(settings.landing_dir, tenant=settings.tenant, env=settings.environment, port=0) as api:
        first = load_ehr_api_to_bronze(settings, api.url, page_size=PAGE_SIZE)
        day_1 = landed_current_versions(settings)
        assert sorted(api_rows(settings)) == sorted(day_1)  # each current version once
        assert first.rows == len(day_1) > 700 and first.files > len(EHR_SYSTEMS) * 5

        again = load_ehr_api_to_bronze(settings, api.url, page_size=PAGE_SIZE)
        assert (again.rows, again.files) == (0, 0)
        assert len(api_rows(settings)) == len(day_1)

        simulate(settings, DAY_2)
        third = load_ehr_api_to_bronze(settings, api.url, page_size=PAGE_SIZE)
    changed = landed_current_versions(settings) - day_1
    last_load = "_dlt_load_id = (select max(load_id) from bronze._dlt_loads)"
    assert sorted(api_rows(settings, last_load)) == sorted(changed)
    assert third.rows == len(changed) > 0

    with psycopg.connect(settings.dsn) as conn:
        for table in existing_tables(conn):
            lineage = conn.execute(
                f"""
                select count(*),
                    count(*) filter (where tenant = %s and environment = %s
                        and batch_id ~ '^api-[0-9]{{8}}T[0-9]{{6}}[.][0-9]{{6}}Z$'
                        and source_file
                            ~ ('^/' || ehr_system || '/fhir/' || (resource->>'resourceType') || '[?]_')
                        and line_number between 1 and {PAGE_SIZE}
                        and _dlt_load_id is not null and ingested_at is not null
                        and jsonb_typeof(resource) = 'object'),
                    count(distinct (source_file, line_number)),
                    count(distinct batch_id)
                from bronze.{table}
                """,
                (settings.tenant, settings.environment),
            ).fetchone()
            assert lineage is not None
            rows, with_lineage, unique_positions, batches = lineage
            assert rows == with_lineage == unique_positions, table
            assert batches in (1, 2), table

    # dlt's working files are gone after the load; nothing under the home holds the secret
    assert not [path for path in settings.dlt_pipelines_dir.rglob("*") if path.is_file()]
    home_files = [path for path in settings.home.rglob("*") if path.is_file()]
    leaks = [path for path in home_files if client_secret.encode() in path.read_bytes()]
    assert leaks == []  # not in dlt state, schemas, traces or load packages
    assert client_secret not in caplog.text
    assert "Bearer " not in caplog.text and "access_token" not in caplog.text


def test_the_api_and_file_paths_agree_on_the_current_version_of_every_resource(
    scratch_warehouse: Settings,
) -> None:
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    with serve(settings.landing_dir, tenant=settings.tenant, env=settings.environment, port=0) as api:
        for day in (DAY_1, DAY_2):
            simulate(settings, day)
            load_ehr_to_bronze(settings)
            load_ehr_api_to_bronze(settings, api.url)
            from_files = latest_per_id(settings, api=False)
            from_api = latest_per_id(settings, api=True)
            assert from_api == from_files, f"{day}: {sorted(from_api ^ from_files)[:5]}"
            assert from_files == landed_current_versions(settings)
            assert {version[0] for version in from_api} >= {bronze_table(e) for e in ("patient", "encounter")}
