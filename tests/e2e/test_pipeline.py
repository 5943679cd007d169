"""The whole pipeline, end to end, through Dagster, on a real Postgres.

The scenario (tests/e2e/conftest.py) runs the daily job three times: the initial extract on
day 1, day 1 again (must change nothing), then day 2's incremental extract. The tests read
what the warehouse holds after each run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from ingestion.ehr.bronze import ENTITIES, REJECTED_TABLE, bronze_table
from ingestion.landing import complete_batches, read_manifest
from tests.e2e.conftest import PATIENTS, SEED, Scenario, query, sampling_decisions
from tests.faults import run_cli
from warehouse.sampling import SAMPLING_METHOD, sample_bucket
from warehouse.schemas import ANALYST_ROLE, REVIEWER_ROLE
from warehouse.settings import Settings

pytestmark = pytest.mark.e2e


def test_every_run_succeeds_with_all_checks_passing(scenario: Scenario) -> None:
    for label, run in scenario.runs.items():
        assert run.success, f"{label}: failed steps {run.failed_steps}"
        assert run.failed_checks == [], label


def test_carehouse_run_prints_the_summary(scenario: Scenario) -> None:
    assert scenario.cli_exit_code == 0, scenario.cli_output
    for expected in (
        "rows per layer",
        "rows quarantined",
        "encounters sampled for review",
        "accounts receivable",
        "full log:",
    ):
        assert expected in scenario.cli_output


def test_carehouse_run_is_quiet_with_one_line_per_layer_and_the_full_log_in_a_file(
    scenario: Scenario,
) -> None:
    output = scenario.cli_output
    lines = output.splitlines()
    for phase in ("landing", "bronze", "silver", "snapshots", "gold", "checks"):
        assert any(line.startswith(phase) for line in lines), phase
    assert re.search(r"^gold\s+done\s+\d+ s\s+\d+ assets", output, re.MULTILINE), output
    assert re.search(r"^checks\s+[\d,]+ passed", output, re.MULTILINE), output
    # the layers, the summary and a meaning per warned check; dbt's ~2,000 node lines went to the log
    assert len(lines) < 100, output
    assert "OK created" not in output and "Traceback" not in output
    log = Path(re.search(r"full log: (\S+)", output).group(1))
    assert log.parent == scenario.settings.home / "logs"
    text = log.read_text()
    # this is the same day run again: nothing is new, so each dbt step says so in the log and
    # builds nothing (a run with new rows logs dbt's own lines there, as dagster-dbt re-emits them)
    assert text.count("nothing to build") >= 3, "silver, snapshots and gold"
    assert "OK created" not in text


def test_carehouse_run_is_a_run_of_the_job_from_the_code_location(scenario: Scenario) -> None:
    """So the UI lists it on the daily_pipeline job page and can re-execute it."""
    from orchestration.instance import carehouse_instance
    from orchestration.runner import CODE_LOCATION_NAME

    run_id = re.search(r"Dagster run (\S+) succeeded", scenario.cli_output).group(1)
    run = carehouse_instance(scenario.settings).get_run_by_id(run_id)
    if run is None:  # pruned: the home keeps the newest KEEP_RUNS runs; check a kept one
        run = carehouse_instance(scenario.settings).get_run_by_id(scenario.runs["day2"].run_id)
    assert run.job_name == "daily_pipeline"
    assert run.remote_job_origin is not None
    assert run.remote_job_origin.location_name == CODE_LOCATION_NAME
    assert run.job_code_origin is not None


def test_runs_are_recorded_in_the_dagster_instance_the_ui_reads(scenario: Scenario) -> None:
    from orchestration.instance import carehouse_instance

    instance = carehouse_instance(scenario.settings)
    recorded = {run.run_id for run in instance.get_runs()}
    # the home keeps the newest KEEP_RUNS runs (see test_reliability_and_privacy)
    assert {scenario.runs["day2"].run_id, scenario.runs["day1"].run_id} & recorded == {
        scenario.runs["day2"].run_id
    }


def test_initial_extract_has_two_years_and_default_shape(scenario: Scenario) -> None:
    first = scenario.summaries["day1"]
    assert first.rows("bronze", "ehr__encounter") > PATIENTS * 4
    span = query(
        scenario.settings,
        "select max(started_at)::date - min(started_at)::date from gold.fct_encounters",
    )[0][0]
    assert span > 600  # about two years of history


def test_running_the_same_day_twice_changes_nothing(scenario: Scenario) -> None:
    before, after = scenario.summaries["day1"], scenario.summaries["day1_again"]
    assert [(t.schema, t.table, t.rows) for t in before.tables] == [
        (t.schema, t.table, t.rows) for t in after.tables
    ]


def test_next_day_lands_an_incremental_extract_on_top(scenario: Scenario) -> None:
    before, after = scenario.summaries["day1_again"], scenario.summaries["day2"]
    assert after.rows("bronze", "ehr__encounter") > before.rows("bronze", "ehr__encounter")
    assert after.rows("gold", "fct_encounters") > before.rows("gold", "fct_encounters")
    # the increment is small next to two years of history
    added = after.rows("bronze", "ehr__encounter") - before.rows("bronze", "ehr__encounter")
    assert added < before.rows("bronze", "ehr__encounter") / 10
    batches = query(scenario.settings, "select count(distinct batch_id) from bronze.ehr__encounter")[0][0]
    assert batches == 2


def test_every_landing_line_is_in_bronze_or_rejected(scenario: Scenario) -> None:
    settings = scenario.settings
    for entity in ENTITIES:
        landed = sum(
            read_manifest(folder)["lines"]
            for folder in complete_batches(
                settings.landing_dir, settings.tenant, settings.environment, "*", entity
            )
        )
        in_bronze = query(settings, f"select count(*) from bronze.{bronze_table(entity)}")[0][0]
        rejected = query(
            settings, f"select count(*) from bronze.{REJECTED_TABLE} where entity = %s", (entity,)
        )[0][0]
        assert landed == in_bronze + rejected, entity
    assert scenario.summaries["day2"].rejected_lines > 0  # the feed does send malformed lines


def test_silver_reconciles_with_bronze(scenario: Scenario) -> None:
    bronze, staged, quarantined, versions, completed, finished = query(
        scenario.settings,
        """
        select
            (select count(*) from bronze.ehr__encounter),
            (select count(*) from silver.stg_ehr__encounters),
            (select count(*) from silver.quarantine_ehr__encounters),
            (select sum(versions_seen) from silver.int_encounters_deduplicated),
            (select count(*) from silver.int_encounters_completed),
            (select count(*) from silver.int_encounters_deduplicated where encounter_status = 'finished')
        """,
    )[0]
    assert bronze == staged == quarantined + versions
    assert quarantined > 0  # resources without an id arrive and are quarantined, not dropped
    assert completed == finished


def test_silver_keeps_the_latest_version_of_each_encounter(scenario: Scenario) -> None:
    rows = query(
        scenario.settings,
        """
        with latest as (
            select ehr_system, resource->>'id' as id,
                   max((resource->'meta'->>'lastUpdated')::timestamptz) as last_updated
            from bronze.ehr__encounter
            where resource ? 'id'
            group by 1, 2
        )
        select count(*) filter (where d.source_last_updated_at <> l.last_updated), count(*)
        from silver.int_encounters_deduplicated d
        join latest l on l.ehr_system = d.source_system and l.id = d.encounter_id
        """,
    )[0]
    mismatched, compared = rows
    assert compared > 0 and mismatched == 0
    re_sent = query(
        scenario.settings, "select count(*) from silver.int_encounters_deduplicated where versions_seen > 1"
    )
    assert re_sent[0][0] > 0


def test_only_completed_encounters_reach_gold(scenario: Scenario) -> None:
    gold, completed = query(
        scenario.settings,
        "select (select count(*) from gold.fct_encounters),"
        " (select count(*) from silver.int_encounters_completed)",
    )[0]
    assert gold == completed
    share = query(
        scenario.settings,
        "select avg((encounter_status = 'finished')::int) from silver.int_encounters_deduplicated",
    )[0][0]
    assert 0.45 < float(share) < 0.70  # about 58% of a real feed's encounters are finished


def test_sql_sampling_agrees_with_the_python_reference_for_every_patient(scenario: Scenario) -> None:
    rows = query(
        scenario.settings,
        "select distinct sample_key, sample_bucket, is_sampled, sample_rate_pct, sampling_method"
        " from review.mart_chart_review",
    )
    assert len(rows) > PATIENTS / 2
    for key, bucket, sampled, rate, method in rows:
        assert bucket == sample_bucket(key), key
        assert sampled == (sample_bucket(key) < rate)
        assert rate == 10 and method == SAMPLING_METHOD
    share = sum(1 for r in rows if r[2]) / len(rows)
    assert 0.05 < share < 0.15
    # one decision per patient: no patient is half-sampled
    assert all(len(set(v)) == 1 for v in _decisions_by_patient(scenario.settings).values())


def _decisions_by_patient(settings: Settings) -> dict[str, list[bool]]:
    decisions: dict[str, list[bool]] = {}
    for key, sampled in query(settings, "select sample_key, is_sampled from review.mart_chart_review"):
        decisions.setdefault(key, []).append(sampled)
    return decisions


def test_sampling_decisions_are_stable_across_days(scenario: Scenario) -> None:
    # the mart is rebuilt every run; a patient sampled on day 1 is still sampled after day 2
    # (and one not sampled is still not), whatever day 2 added
    day2 = sampling_decisions(scenario.settings)
    common = scenario.day1_decisions.keys() & day2.keys()
    assert len(common) > len(scenario.day1_decisions) * 0.9
    assert {key: day2[key] for key in common} == {key: scenario.day1_decisions[key] for key in common}


def test_gold_has_no_direct_identifiers(scenario: Scenario) -> None:
    columns = {
        r[0]
        for r in query(
            scenario.settings,
            "select column_name from information_schema.columns where table_schema = 'gold'",
        )
    }
    forbidden = {
        "name",
        "family",
        "given",
        "birth_date",
        "birthdate",
        "mrn",
        "ssn",
        "address",
        "phone",
        "telecom",
    }
    assert not {c for c in columns if any(word in c for word in forbidden)}
    assert not {c for c in columns if c.endswith("_id")}  # source ids stay in silver/review
    # and no patient's family name appears anywhere in gold
    names = {
        r[0]
        for r in query(
            scenario.settings,
            "select distinct resource->'name'->0->>'family' from bronze.ehr__patient limit 50",
        )
        if r[0]
    }
    gold_text = json.dumps(
        query(scenario.settings, "select * from gold.fct_encounters limit 2000"), default=str
    )
    assert names and not [n for n in names if n in gold_text]


def test_gold_docs_are_persisted_as_postgres_comments(scenario: Scenario) -> None:
    comments = query(
        scenario.settings,
        "select col_description('gold.fct_encounters'::regclass, attnum) from pg_attribute"
        " where attrelid = 'gold.fct_encounters'::regclass and attnum > 0 and not attisdropped",
    )
    assert comments and all(c[0] for c in comments)


def _readable(settings: Settings, role: str, table: str) -> bool:
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        conn.execute(f"set role {role}")
        try:
            conn.execute(f"select count(*) from {table}")
            return True
        except psycopg.errors.InsufficientPrivilege:
            return False


def test_an_analyst_reads_gold_and_is_refused_bronze_and_silver(scenario: Scenario) -> None:
    settings = scenario.settings
    assert _readable(settings, ANALYST_ROLE, "gold.fct_encounters")
    assert not _readable(settings, ANALYST_ROLE, "bronze.ehr__patient")
    assert not _readable(settings, ANALYST_ROLE, "silver.stg_ehr__patients")
    assert not _readable(settings, ANALYST_ROLE, "review.mart_chart_review")
    assert _readable(settings, REVIEWER_ROLE, "review.mart_chart_review")
    assert not _readable(settings, REVIEWER_ROLE, "bronze.ehr__patient")


def test_landing_batches_are_never_rewritten(scenario: Scenario) -> None:
    settings = scenario.settings
    folders = complete_batches(settings.landing_dir, settings.tenant, settings.environment, "*", "encounter")
    assert len(folders) == 4  # two systems x two days, although day 1 ran twice
    assert all(isinstance(read_manifest(f), dict) for f in folders)
    assert all(Path(f).name in {"20250301T060000Z", "20250302T060000Z"} for f in folders)


def test_analyst_examples_run_as_the_analyst_role(scenario: Scenario) -> None:
    """dbt_project/analyses/ holds the everyday questions; compiled by `carehouse dbt` (as the
    README shows), each returns rows when run with nothing but the analyst role's rights."""
    done = run_cli(scenario.settings, "dbt", "compile", "--select", "resource_type:analysis", "--quiet")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    target = scenario.settings.dbt_target_dir  # under the carehouse home, never the repository
    compiled = sorted((target / "compiled" / "carehouse" / "analyses").rglob("*.sql"))
    assert len(compiled) >= 4
    with psycopg.connect(scenario.settings.dsn, autocommit=True) as conn:
        conn.execute(f"set role {ANALYST_ROLE}")
        for path in compiled:
            rows = conn.execute(path.read_text()).fetchall()
            assert rows, path.name


def test_patients_and_practitioners_keep_scd2_history_across_days(scenario: Scenario) -> None:
    for snapshot, key in (("snap_patients", "patient_key"), ("snap_practitioners", "practitioner_key")):
        keys, versions, current = query(
            scenario.settings,
            f"select count(distinct {key}), count(*), count(*) filter (where dbt_valid_to is null)"
            f" from snapshots.{snapshot}",
        )[0]
        assert current == keys, snapshot  # exactly one current row per key
        assert versions >= keys
    patients_changed = query(
        scenario.settings, "select count(*) from snapshots.snap_patients where dbt_valid_to is not null"
    )[0][0]
    assert patients_changed > 0  # day 2 moved, re-insured or re-assigned some patients
    # a changed patient's versions chain without gaps in the gold dimension
    gaps = query(
        scenario.settings,
        """
        select count(*) from (
            select valid_to,
                   lead(valid_from) over (partition by patient_durable_key order by valid_from) as next_from
            from gold.dim_patient
        ) v where next_from is not null and next_from <> valid_to
        """,
    )[0][0]
    assert gaps == 0


def test_every_fact_key_resolves_to_a_dimension_row(scenario: Scenario) -> None:
    dangling = query(
        scenario.settings,
        """
        select
            count(*) filter (where p.patient_key is null),
            count(*) filter (where f.provider_key is not null and v.provider_key is null),
            count(*) filter (where d.date_key is null),
            count(*) filter (where f.facility_key is not null and x.facility_key is null)
        from gold.fct_encounters f
        left join gold.dim_patient p on p.patient_key = f.patient_key
        left join gold.dim_provider v on v.provider_key = f.provider_key
        left join gold.dim_date d on d.date_key = f.date_key
        left join gold.dim_facility x on x.facility_key = f.facility_key
        """,
    )[0]
    assert dangling == (0, 0, 0, 0)
    # and the patient version is the one valid when the encounter started
    wrong_version = query(
        scenario.settings,
        "select count(*) from gold.fct_encounters f join gold.dim_patient p on p.patient_key = f.patient_key"
        " where not (f.started_at >= p.valid_from and f.started_at < p.valid_to)",
    )[0][0]
    assert wrong_version == 0


CDM_TABLES = (
    "cdm_patients",
    "cdm_practitioners",
    "cdm_facilities",
    "cdm_coverages",
    "cdm_encounters",
    "cdm_conditions",
    "cdm_procedures",
    "cdm_diagnostic_reports",
    "cdm_observations",
    "cdm_medication_requests",
    "cdm_immunizations",
    "cdm_allergy_intolerances",
)


def _cdm_fingerprints(settings: Settings, table: str) -> set[str]:
    columns = [
        r[0]
        for r in query(
            settings,
            # content only: when and in which load each warehouse read a row differ
            "select column_name from information_schema.columns where table_schema = 'silver'"
            " and table_name = %s and column_name not like '%%ingested_at' and column_name <> '_dlt_load_id'"
            " order by ordinal_position",
            (table,),
        )
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    return {r[0] for r in query(settings, f"select md5(row({select})::text) from silver.{table}")}


def test_api_path_and_file_path_give_the_same_silver_rows(
    scenario: Scenario, scratch_warehouse: Settings
) -> None:
    """Pull the same simulated days through the FHIR API (OAuth2, paging) into a second
    warehouse, build silver there with dbt, and compare the common data model row for row."""
    import os
    import subprocess
    import sys

    from ingestion.ehr.api.pipeline import load_ehr_api_to_bronze
    from ingestion.ehr.api.server import serve
    from ingestion.reference.icd10_cm import load_reference_to_bronze
    from orchestration.assets.dbt import SILVER_SELECTION
    from orchestration.dbt_project import DBT_PROJECT_DIR
    from warehouse.schemas import ensure_schemas_and_roles

    files = scenario.settings
    ensure_schemas_and_roles(scratch_warehouse)
    credentials = {"client_id": "parity-client", "client_secret": "parity-secret"}
    with serve(
        files.landing_dir, tenant=files.tenant, env=files.environment, port=0, **credentials
    ) as server:
        loaded = load_ehr_api_to_bronze(scratch_warehouse, server.url, **credentials)
    assert loaded.rows > 0
    load_reference_to_bronze(scratch_warehouse)

    env = {**os.environ, **scratch_warehouse.dbt_env()}
    dbt = Path(sys.executable).with_name("dbt")
    build = subprocess.run(
        [str(dbt), "build", "--select", *SILVER_SELECTION.split(), "--indirect-selection", "cautious",
         # the ADT stream and the CSV feeds are not part of this comparison: no bronze tables here
         "--exclude", "path:models/staging/adt", "path:models/intermediate/adt",
         "path:models/quarantine/*adt*", "source:billing+", "source:claims+", "source:pharmacy+",
         "source:eligibility+",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(scratch_warehouse.home / "dbt_target"), "--quiet"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:]
    for table in CDM_TABLES:
        via_files, via_api = _cdm_fingerprints(files, table), _cdm_fingerprints(scratch_warehouse, table)
        assert via_files, table
        assert via_files == via_api, f"{table}: {len(via_files ^ via_api)} rows differ"


# -- patient flow (ADT stream) ----------------------------------------------------------------
def test_adt_dq_flags_equal_the_injected_dirt_exactly(scenario: Scenario) -> None:
    from collections import Counter

    from ingestion.adt.simulator import read_dirty_manifests

    settings = scenario.settings
    injected = Counter(
        e["scenario"]
        for e in read_dirty_manifests(settings.landing_dir, settings.tenant, settings.environment)
    )
    flagged = dict(query(settings, "select flag, events from silver.adt_dq_flag_counts"))
    flagged["MISSING_FIELD"] = sum(
        flagged.pop(f"MISSING_{f}", 0) for f in ("PATIENT_ID", "EVENT_TYPE", "DEPARTMENT")
    )
    assert sum(injected.values()) > 0
    for dirty_scenario, count in injected.items():
        assert flagged.get(dirty_scenario) == count, dirty_scenario
    assert len(injected) == 7  # every scenario occurs in the simulated days


def test_adt_length_of_stay_and_occupancy(scenario: Scenario) -> None:
    wrong_los, stays = query(
        scenario.settings,
        "select count(*) filter (where abs(length_of_stay_hours"
        " - extract(epoch from discharged_at - admitted_at) / 3600.0) > 0.0001), count(*)"
        " from gold.fct_patient_flow where discharged_at is not null",
    )[0]
    assert stays > 0 and wrong_los == 0
    over, departments = query(
        scenario.settings,
        "select count(*) filter (where occupancy_pct > 100), count(*) from gold.mart_current_occupancy",
    )[0]
    assert departments == 49 and over == 0


def test_a_followed_stream_loads_with_no_gaps_or_duplicate_offsets(scenario: Scenario) -> None:
    """Stream live micro-batches, let the sensor's job load them, and check the offsets."""
    from ingestion.adt.simulator import follow
    from orchestration.definitions import defs
    from orchestration.instance import carehouse_instance

    settings = scenario.settings
    before = query(settings, "select count(*) from bronze.adt__events")[0][0]
    follow(
        settings.landing_dir, events_per_second=100, max_events=300, duration_s=6, seed=SEED,
        tenant=settings.tenant, env=settings.environment,
    )  # fmt: skip
    result = defs.resolve_job_def("adt_flow").execute_in_process(instance=carehouse_instance(settings))
    assert result.success
    assert query(settings, "select count(*) from bronze.adt__events")[0][0] > before
    per_partition = query(
        settings,
        'select "partition", count(*), count(distinct "offset"), min("offset"), max("offset")'
        " from bronze.adt__events group by 1 order by 1",
    )
    assert len(per_partition) == 4
    for partition, records, distinct, lowest, highest in per_partition:
        assert records == distinct, f"partition {partition} has a duplicate offset"
        assert (lowest, highest - lowest + 1) == (0, records), f"partition {partition} has a gap"
