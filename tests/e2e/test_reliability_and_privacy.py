"""What the scenario's three runs must also prove: every blocking check ran, gold keys cannot be
turned back into source ids, no raw PHI lies outside the database, and nothing outside the
database and the landing zone grows run after run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from orchestration.instance import carehouse_instance
from orchestration.jobs import DAILY_JOB_NAME
from tests.e2e.conftest import KEEP_RUNS, Scenario, query
from warehouse.keys import gold_key, keyed_hash

# Growth of the files outside pgdata and landing allowed from one run to the next once the
# retention windows are full (the newest runs' logs replace the oldest): a few MB, not the
# 15 MB + 70 MB per run it used to be.
GROWTH_BOUND_BYTES = 5 * 1024 * 1024


def _instance(scenario: Scenario) -> DagsterInstance:
    return carehouse_instance(scenario.settings)


def test_every_blocking_check_of_the_daily_run_emits_a_result(scenario: Scenario) -> None:
    from orchestration.definitions import defs

    job = defs.resolve_job_def(DAILY_JOB_NAME)
    graph = defs.resolve_asset_graph()
    blocking = {key for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    in_job = {key for key in blocking if key.asset_key in job.asset_layer.selected_asset_keys}
    assert in_job, "the daily job has blocking checks"
    run = scenario.runs["day2"]
    assert run.success, run.failed_steps
    instance = _instance(scenario)
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records
    evaluated = {r.event_log_entry.dagster_event.asset_check_evaluation_data.asset_check_key for r in records}
    # a dbt step that no new row reached builds nothing and reports its models unchanged
    # (carehouse/rebuilt: false): their checks keep the result of the run that built them
    materialized = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=100_000
    ).records
    materializations = [r.event_log_entry.dagster_event.materialization for r in materialized]
    rebuilt = {m.asset_key for m in materializations if "carehouse/rebuilt" not in m.metadata}
    assert AssetKey(["gold", "fct_encounters"]) in rebuilt  # day 2 brings new encounters
    in_job = {key for key in in_job if key.asset_key in rebuilt}
    missing = sorted(key.to_user_string() for key in in_job - evaluated)
    assert missing == [], f"blocking checks that emitted no result: {missing}"
    reconciliations = {key.name for key in evaluated if key.name.endswith("_counts_reconcile")}
    assert {
        "assert_ehr_patient_counts_reconcile",
        "assert_ehr_encounter_counts_reconcile",
        "assert_eligibility_member_month_counts_reconcile",
        "assert_pharmacy_fill_counts_reconcile",
    } <= reconciliations


def test_bronze_materializations_count_the_rows_each_load_brought(scenario: Scenario) -> None:
    """dlt never normalizes the files carehouse imports: the count comes from the extract, and
    is the rows of the bronze table whose load id (a unix time) falls within the run."""
    instance = _instance(scenario)
    run_id = scenario.runs["day2"].run_id
    run = instance.get_run_record_by_id(run_id)
    events = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=100_000
    ).records
    loaded = 0
    for event in events:
        materialization = event.event_log_entry.dagster_event.materialization
        key = materialization.asset_key
        if key.to_user_string().startswith("bronze/ehr__"):  # each of the EHR load's dlt tables
            assert "rows_loaded" in materialization.metadata, key
        if key == AssetKey(["bronze", "ehr__encounter"]):
            loaded += materialization.metadata["rows_loaded"].value
    [(in_bronze,)] = query(
        scenario.settings,
        "select count(*) from bronze.ehr__encounter"
        f" where cast(_dlt_load_id as numeric) between {run.start_time} and {run.end_time}",
    )
    assert loaded == in_bronze > 0


def _source_ids(scenario: Scenario, table: str, id_column: str) -> list[tuple[str, str]]:
    """Every id the EHR sent (each version, quarantined ones too)."""
    return query(
        scenario.settings,
        f"select distinct source_system, {id_column} from silver.{table} where {id_column} is not null",
    )


@pytest.mark.parametrize(
    ("silver_table", "id_column", "gold_table", "key_column"),
    [
        ("stg_ehr__patients", "patient_id", "dim_patient", "patient_durable_key"),
        ("stg_ehr__encounters", "encounter_id", "fct_encounters", "encounter_key"),
        ("stg_ehr__observations", "observation_id", "fct_observations", "observation_resource_key"),
    ],
)
def test_gold_keys_cannot_be_recomputed_from_source_ids_without_the_gold_key(
    scenario: Scenario, silver_table: str, id_column: str, gold_table: str, key_column: str
) -> None:
    ids = _source_ids(scenario, silver_table, id_column)
    # an inferred dim_patient member stands for a patient only an encounter names (no Patient
    # resource arrived): its id is not among the patients'
    real = " where not is_inferred" if gold_table == "dim_patient" else ""
    sql = f"select distinct {key_column} from gold.{gold_table}{real}"
    gold_keys = {k for (k,) in query(scenario.settings, sql)}
    assert len(ids) > 100 and len(gold_keys) > 100
    natural = [f"{system}|{id_}" for system, id_ in ids]
    # what an analyst could compute: plain hashes, or a keyed hash with any key but the warehouse's
    assert not gold_keys & {hashlib.md5(n.encode()).hexdigest() for n in natural}
    assert not gold_keys & {hashlib.sha256(n.encode()).hexdigest() for n in natural}
    assert not gold_keys & {keyed_hash(b"guessed key", n) for n in natural}
    # with the warehouse's secret (which never leaves the carehouse home) every key is found
    with_key = {keyed_hash(gold_key(scenario.settings), n) for n in natural}
    assert gold_keys <= with_key
    assert all(len(k) == 64 for k in gold_keys)


def _phi_samples(scenario: Scenario) -> list[str]:
    """Values that identify simulated patients: full names, MRNs, SSNs, phones, street lines."""
    rows = query(
        scenario.settings,
        "select given_name || ' ' || family_name, mrn, phone, address_line,"
        " (select i->>'value' from jsonb_array_elements(b.resource->'identifier') i"
        "   where i->>'system' = 'http://hl7.org/fhir/sid/us-ssn' limit 1)"
        " from silver.stg_ehr__patients s join bronze.ehr__patient b"
        "   on b.source_file = s.source_file and b.line_number = s.line_number"
        " where family_name is not null order by s.patient_id limit 300",
    )
    values = {v for row in rows for v in row if v and len(v) >= 6}
    assert any(len(v) == 11 and v[3] == "-" for v in values), "the sample holds SSNs"
    return sorted(values)


def test_gold_holds_none_of_the_patients_direct_identifiers(scenario: Scenario) -> None:
    samples = _phi_samples(scenario)
    columns = query(
        scenario.settings,
        "select table_name, column_name from information_schema.columns where table_schema = 'gold'"
        " and data_type in ('text', 'character varying')",
    )
    found = []
    for table, column in columns:
        hits = query(
            scenario.settings, f'select count(*) from gold."{table}" where "{column}" = any(%s)', (samples,)
        )[0][0]
        if hits:
            found.append(f"{table}.{column}")
    assert found == []


def test_files_outside_the_database_stay_bounded_and_hold_no_phi(scenario: Scenario) -> None:
    settings = scenario.settings
    sizes = scenario.footprints
    # from the second run on, what a run adds replaces what the oldest run left
    assert sizes["day2"] - sizes["day1_again"] < GROWTH_BOUND_BYTES, sizes
    # after the third run, Dagster kept the newest runs only, dbt the last run's three step
    # folders, dlt nothing
    assert scenario.kept_after_day2 == {"dagster_runs": KEEP_RUNS, "dbt_folders": 3, "dlt_files": 0}
    assert not any(path.is_file() for path in settings.dlt_pipelines_dir.rglob("*"))
    assert not (Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "run").exists()
    # and no file there holds a patient's name, MRN, SSN, phone or street
    samples = [s.encode() for s in _phi_samples(scenario)]
    leaks = []
    for path in settings.home.rglob("*"):
        outside = not (path.is_relative_to(settings.pgdata_dir) or path.is_relative_to(settings.landing_dir))
        if not path.is_file() or not outside:
            continue
        data = path.read_bytes()
        if any(sample in data for sample in samples):
            leaks.append(str(path.relative_to(settings.home)))
    assert leaks == []


def test_the_landing_zone_verified_and_every_run_left_no_load_unfinished(scenario: Scenario) -> None:
    statuses = dict(
        query(scenario.settings, "select status, count(*) from bronze.landing__batches group by 1")
    )
    assert set(statuses) == {"verified"} and statuses["verified"] > 100
    assert query(scenario.settings, "select count(*) from bronze.carehouse__load_attempts") == [(0,)]
    assert scenario.summaries["day2"].landing_problems == ()
    # the steward sees the same in the data-quality mart
    # (batches verified after the last gold build, e.g. by later tests, are not in it yet)
    latest = query(scenario.settings, "select max(data_as_of) from gold.mart_data_quality_metrics")[0][0]
    in_mart = query(
        scenario.settings,
        "select metric, sum(metric_value) from gold.mart_data_quality_metrics where metric_group ="
        " 'landing_batches' and data_as_of = %s and metric_value > 0 group by 1",
        (latest,),
    )
    audited = query(
        scenario.settings,
        "select count(*) from bronze.landing__batches where first_checked_at <= %s",
        (latest,),
    )
    assert dict(in_mart) == {"verified": audited[0][0]}
    # every EHR file of the landing zone is in the ledger exactly once
    landing = scenario.settings.landing_dir
    ehr_files = sorted(
        path.relative_to(landing).as_posix()
        for path in landing.glob("*/*/*/*/*/*.ndjson")
        if path.relative_to(landing).parts[2] != "adt"
    )
    ledger = sorted(f for (f,) in query(scenario.settings, "select source_file from bronze.ehr__file_log"))
    assert ledger == ehr_files
