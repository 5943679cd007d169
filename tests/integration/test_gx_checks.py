"""A Great Expectations check reads a table again only when its rows changed since it last passed:
a pass is carried forward on an unchanged table, any write makes GX validate it again, and a
failure is never carried forward."""

from __future__ import annotations

import logging

import psycopg

from orchestration.checks.great_expectations import validate_table
from orchestration.checks.gx_suites import TableSuite
from warehouse.settings import Settings


def _visit_expectations() -> list[object]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="visit_id"),
        gxe.ExpectColumnValuesToBeUnique(column="visit_id"),
    ]


SUITE = TableSuite("gx_test_visits", "bronze", "test_visits", _visit_expectations, "test: visits have ids")
LOG = logging.getLogger("test_gx_checks")


def _outcomes(settings: Settings) -> list[tuple[str, int, str]]:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(
            "select status, failures, invocation_id from silver.dq_test_results where test_name = %s",
            (SUITE.check_name,),
        ).fetchall()


def test_a_pass_is_carried_forward_until_the_table_changes(warehouse: Settings) -> None:
    with psycopg.connect(warehouse.dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists bronze")
        conn.execute("create table bronze.test_visits as select g as visit_id from generate_series(1, 50) g")

    first = validate_table(SUITE, "run-1", LOG)
    assert first.passed and first.metadata["carehouse/validated_again"].value is True
    assert first.metadata["expectations"].value == 2

    again = validate_table(SUITE, "run-2", LOG)
    assert again.passed
    assert again.metadata["carehouse/validated_again"].value is False
    assert again.metadata["carehouse/validated_in_run"].value == "run-1"
    # the steward's mart still sees the check run in this run
    assert _outcomes(warehouse) == [("pass", 0, "run-2")]

    with psycopg.connect(warehouse.dsn, autocommit=True) as conn:
        conn.execute("insert into bronze.test_visits values (null), (7)")
    broken = validate_table(SUITE, "run-3", LOG)
    assert not broken.passed and broken.metadata["carehouse/validated_again"].value is True
    [(status, failures, run)] = _outcomes(warehouse)
    assert (status, run) == ("fail", "run-3") and failures >= 2  # the null and the repeated id

    # a failure is validated again every time, even on the same rows
    still_broken = validate_table(SUITE, "run-4", LOG)
    assert not still_broken.passed and still_broken.metadata["carehouse/validated_again"].value is True

    with psycopg.connect(warehouse.dsn, autocommit=True) as conn:
        conn.execute("delete from bronze.test_visits where visit_id is null")
        conn.execute(
            "delete from bronze.test_visits"
            " where ctid = (select min(ctid) from bronze.test_visits where visit_id = 7)"
        )
    fixed = validate_table(SUITE, "run-5", LOG)
    assert fixed.passed and fixed.metadata["carehouse/validated_again"].value is True

    # an update that keeps the row count still counts as a change
    with psycopg.connect(warehouse.dsn, autocommit=True) as conn:
        conn.execute("update bronze.test_visits set visit_id = visit_id + 1000 where visit_id = 2")
    after_update = validate_table(SUITE, "run-6", LOG)
    assert after_update.passed and after_update.metadata["carehouse/validated_again"].value is True
    assert validate_table(SUITE, "run-7", LOG).metadata["carehouse/validated_in_run"].value == "run-6"
