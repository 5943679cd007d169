"""The chart-review sample rate in force, on a real Postgres: the change log, and setting it
through a Dagster run's config (what ``carehouse run --sample-rate N`` hands to the job)."""

from __future__ import annotations

import psycopg
import pytest
from dagster import DagsterInstance, materialize

from orchestration.assets.sample_rate import SAMPLE_RATE_OP_NAME, sample_rate_changes
from orchestration.housekeeping import CLI_LAUNCHER, LAUNCHED_BY_TAG
from orchestration.jobs import extract_run_config
from warehouse.sample_rate import (
    SAMPLE_RATE_SCHEMA,
    SAMPLE_RATE_TABLE,
    InvalidSampleRateError,
    rate_in_force,
    set_sample_rate,
)
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import ENV_DSN, ENV_HOME, Settings


def _changes(settings: Settings) -> list[tuple]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(
            f"select old_rate_pct, new_rate_pct, changed_by, changed_at is not null"
            f" from {SAMPLE_RATE_SCHEMA}.{SAMPLE_RATE_TABLE} order by change_id"
        ).fetchall()


def test_the_log_records_a_row_only_when_the_rate_changes(scratch_warehouse: Settings) -> None:
    assert rate_in_force(scratch_warehouse) == 10  # no table yet: the default
    ensure_schemas_and_roles(scratch_warehouse)  # what every build does first: dbt's source exists
    assert _changes(scratch_warehouse) == []

    assert set_sample_rate(scratch_warehouse, 10, "carehouse run") is False  # the default is no change
    assert set_sample_rate(scratch_warehouse, 25, "carehouse run") is True
    assert set_sample_rate(scratch_warehouse, 25, "dagster run abc") is False
    assert set_sample_rate(scratch_warehouse, 0, "dagster run abc") is True
    assert rate_in_force(scratch_warehouse) == 0
    assert _changes(scratch_warehouse) == [(10, 25, "carehouse run", True), (25, 0, "dagster run abc", True)]


@pytest.mark.parametrize("bad", [101, -1, 12.5, True, "20"])
def test_a_rate_that_is_not_a_whole_percentage_is_refused_in_one_line(
    scratch_warehouse: Settings, bad: object
) -> None:
    with pytest.raises(InvalidSampleRateError) as refused:
        set_sample_rate(scratch_warehouse, bad, "carehouse run")  # type: ignore[arg-type]
    assert "\n" not in str(refused.value) and "0 to 100" in str(refused.value)
    with pytest.raises(ValueError):  # before anything runs: the job's config is not even built
        extract_run_config("2025-03-01", sample_rate_pct=bad)  # type: ignore[arg-type]
    assert rate_in_force(scratch_warehouse) == 10


def test_a_dagster_run_config_sets_the_rate_and_a_run_without_it_keeps_it(
    scratch_warehouse: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DSN, scratch_warehouse.dsn)  # the asset reads the settings from env
    monkeypatch.setenv(ENV_HOME, str(scratch_warehouse.home))
    ensure_schemas_and_roles(scratch_warehouse)
    config = extract_run_config("2025-03-01", sample_rate_pct=35)["ops"][SAMPLE_RATE_OP_NAME]
    with DagsterInstance.ephemeral() as instance:
        cli = materialize(
            [sample_rate_changes],
            instance=instance,
            run_config={"ops": {SAMPLE_RATE_OP_NAME: config}},
            tags={LAUNCHED_BY_TAG: CLI_LAUNCHER},
        )
        # the schedule passes no rate: the stored one stays, nothing is recorded
        assert SAMPLE_RATE_OP_NAME not in extract_run_config("2025-03-02")["ops"]
        scheduled = materialize([sample_rate_changes], instance=instance)
        again = materialize(
            [sample_rate_changes], instance=instance, run_config={"ops": {SAMPLE_RATE_OP_NAME: config}}
        )
    assert cli.success and scheduled.success and again.success
    assert _changes(scratch_warehouse) == [(10, 35, f"{CLI_LAUNCHER} (dagster run {cli.run_id})", True)]
    assert rate_in_force(scratch_warehouse) == 35
    metadata = scheduled.asset_materializations_for_node(SAMPLE_RATE_OP_NAME)[0].metadata
    assert metadata["sample_rate_pct"].value == 35 and metadata["changed"].value is False
