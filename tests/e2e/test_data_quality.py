"""The data steward's mart (gold.mart_data_quality_metrics) recomputed from the tables it measures,
on the shared scenario's warehouse (tests/e2e/conftest.py: day 1, day 1 again, day 2).

Each figure of the latest data state is recomputed here straight from bronze and silver: rows per
layer, quarantined rows by reason (and lines rejected at load), DQ flags by rule (split in Python),
the latest load of every bronze table, and the test outcomes the on-run-end hook recorded. The
recomputation walks the warehouse's own catalogue (every quarantine_* table, every staging table
with _dq_flags, every bronze source table), so a model missing from the mart's explicit input list
fails here. History: day 1 run twice keeps one set of rows, day 2 adds one, and the day-1 set
still holds day 1's figures.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.e2e.conftest import Scenario, query

pytestmark = pytest.mark.e2e

MART = "gold.mart_data_quality_metrics"
# bronze tables that are not dbt sources: dlt's bookkeeping, the loaders' reject tables, the file log
# bronze tables that are the loaders' own bookkeeping, not a source: rejects, file ledgers, the
# landing audit, load attempts and the gold key's fingerprint
NOT_SOURCES = (
    "\\_dlt%",
    "%\\_\\_rejected\\_%",
    "%\\_\\_file\\_log",
    "landing\\_\\_batches",
    "carehouse\\_\\_%",
    "ehr\\_\\_systems",  # the EHR registry: configuration, not a source's data
)
REJECT_TABLES = {
    "ehr__rejected_line": "select 'ehr__' || entity, count(*) from bronze.ehr__rejected_line group by 1",
    "adt__rejected_line": "select 'adt__events', count(*) from bronze.adt__rejected_line group by 1",
    "feeds__rejected_row": "select table_name, count(*) from bronze.feeds__rejected_row group by 1",
}


def _states(scenario: Scenario) -> list[datetime]:
    return [row[0] for row in query(scenario.settings, f"select distinct data_as_of from {MART} order by 1")]


def _metrics(scenario: Scenario, family: str, state: datetime | None = None) -> dict[tuple, Decimal]:
    """(layer, source_table, relation, metric) -> metric_value of one data state
    (default: the latest)."""
    state = state or _states(scenario)[-1]
    rows = query(
        scenario.settings,
        f"select layer, source_table, relation, metric, metric_value from {MART}"
        " where data_as_of = %s and metric_group = %s",
        (state, family),
    )
    return {(layer, table, relation, name): value for layer, table, relation, name, value in rows}


def _tables(scenario: Scenario, schema: str, like: str = "%") -> list[str]:
    rows = query(
        scenario.settings,
        "select table_name from information_schema.tables where table_schema = %s and table_name like %s"
        + "".join(" and table_name not like %s" for _ in NOT_SOURCES)
        + " order by 1",
        (schema, like, *NOT_SOURCES),
    )
    return [name for (name,) in rows]


def _measured_bronze(scenario: Scenario) -> set[str]:
    """Bronze data tables the mart measures: all but the resource types silver does not model yet,
    which it counts apart (metric group unmodeled_resources)."""
    unmodeled = {relation for _, _, relation, _ in _metrics(scenario, "unmodeled_resources")}
    return set(_tables(scenario, "bronze")) - unmodeled


def _has_column(scenario: Scenario, schema: str, table: str, column: str) -> bool:
    return bool(
        query(
            scenario.settings,
            "select 1 from information_schema.columns"
            " where table_schema = %s and table_name = %s and column_name = %s",
            (schema, table, column),
        )
    )


def _loaded_at(scenario: Scenario, table: str) -> str:
    return "ingested_at" if _has_column(scenario, "bronze", table, "ingested_at") else "loaded_at"


def _count(scenario: Scenario, relation: str) -> int:
    return query(scenario.settings, f"select count(*) from {relation}")[0][0]


def test_rows_per_layer_are_the_tables_row_counts(scenario: Scenario) -> None:
    metrics = _metrics(scenario, "layer_rows")
    schema = {"bronze": "bronze", "staging": "silver", "quarantine": "silver", "intermediate": "silver"}
    recomputed = {
        (layer, table, relation, "rows"): _count(scenario, f"{schema[layer]}.{relation}")
        for layer, table, relation, _ in metrics
    }
    assert metrics == recomputed
    # every bronze source table is measured, and staging keeps one row per bronze row
    bronze = {relation for layer, _, relation, _ in metrics if layer == "bronze"}
    assert bronze == _measured_bronze(scenario)
    rows = query(
        scenario.settings,
        f"select b.metric_value, s.metric_value from {MART} b join {MART} s"
        " on s.data_as_of = b.data_as_of and s.source_table = b.source_table"
        " and s.metric_group = 'layer_rows' and s.layer = 'staging'"
        " where b.metric_group = 'layer_rows' and b.layer = 'bronze' and b.data_as_of = %s",
        (_states(scenario)[-1],),
    )
    assert rows and all(bronze == staging for bronze, staging in rows)


def test_quarantined_rows_by_reason_cover_every_quarantine_table(scenario: Scenario) -> None:
    expected: dict[tuple, int] = {}
    for table in _tables(scenario, "silver", "quarantine\\_%"):
        for reason, rows in query(
            scenario.settings, f"select quarantine_reason, count(*) from silver.{table} group by 1"
        ):
            source_table = query(
                scenario.settings,
                f"select distinct source_table from {MART} where relation = %s",
                (table,),
            )
            assert len(source_table) == 1, f"{table} is not measured"
            expected[("quarantine", source_table[0][0], table, reason)] = rows
    assert expected, "the simulators inject dirt"
    present = {
        name
        for (name,) in query(
            scenario.settings,
            "select table_name from information_schema.tables where table_schema = 'bronze'",
        )
    }
    for table, sql in REJECT_TABLES.items():
        if table in present:
            for meant_for, rows in query(scenario.settings, sql):
                expected[("bronze", meant_for, table, "rejected_at_load")] = rows
    assert _metrics(scenario, "quarantined_rows") == expected


def test_dq_flags_by_rule_split_every_flagged_staging_row(scenario: Scenario) -> None:
    expected: Counter[tuple] = Counter()
    for table in _tables(scenario, "silver", "stg\\_%"):
        if not _has_column(scenario, "silver", table, "_dq_flags"):
            continue
        for flags, rows in query(
            scenario.settings,
            f"select _dq_flags, count(*) from silver.{table} where _dq_flags is not null group by 1",
        ):
            for rule in flags.split("|"):
                expected[(table, rule)] += rows
    measured = {
        (relation, rule): value for (_, _, relation, rule), value in _metrics(scenario, "dq_flags").items()
    }
    assert measured == dict(expected)
    assert expected, "the simulators inject dirt"


def test_freshness_is_the_latest_load_of_every_bronze_table(scenario: Scenario) -> None:
    state = _states(scenario)[-1]
    metrics = _metrics(scenario, "source_freshness")
    rows = query(
        scenario.settings,
        f"select relation, last_loaded_at, latest_batch from {MART}"
        " where data_as_of = %s and metric = 'latest_load_rows'",
        (state,),
    )
    newest: list[datetime] = []
    for table, last_loaded_at, latest_batch in rows:
        loaded_at = _loaded_at(scenario, table)
        latest, batch, added = query(
            scenario.settings,
            f"select l.latest, max({'b.batch_id' if loaded_at == 'ingested_at' else 'null'}), count(b.*)"
            f" from (select max({loaded_at}) as latest from bronze.{table}) l"
            f" left join bronze.{table} b on b.{loaded_at} = l.latest group by l.latest",
        )[0]
        assert (last_loaded_at, latest_batch) == (latest, batch), table
        assert metrics[("bronze", table, table, "latest_load_rows")] == added, table
        # as the mart counts: whole seconds between the two instants (dbt.datediff floors each one),
        # in hours rounded half up (Postgres round)
        seconds = (state.replace(microsecond=0) - latest.replace(microsecond=0)).total_seconds()
        hours = (Decimal(int(seconds)) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert metrics[("bronze", table, table, "hours_behind_newest_load")] == hours, table
        newest.append(latest)
    assert {table for table, _, _ in rows} == _measured_bronze(scenario)
    # the data state is the newest load of any source
    assert state == max(newest)


def test_test_outcomes_are_the_recorded_latest_outcomes(scenario: Scenario) -> None:
    """Silver and snapshot outcomes: recorded before the gold step built the mart, not since;
    gold outcomes are those of the previous gold step (so not compared here)."""
    recorded = query(
        scenario.settings,
        "select test_type || '_outcomes', tested_layer, status, count(*), coalesce(sum(failures), 0)"
        " from silver.dq_test_results where tested_layer <> 'marts' group by 1, 2, 3",
    )
    rows = query(
        scenario.settings,
        f"select metric_group, layer, metric, metric_value from {MART} where data_as_of = %s"
        " and metric_group like '%%_outcomes' and layer <> 'marts' and metric_value > 0",
        (_states(scenario)[-1],),
    )
    counts = {(family, layer, status): tests for family, layer, status, tests, _ in recorded}
    failing: Counter[tuple] = Counter()
    for family, layer, _, _, failures in recorded:
        failing[(family, layer, "failing_records")] += failures
    expected = {**counts, **{key: value for key, value in failing.items() if value > 0}}
    assert {(f, layer, m): v for f, layer, m, v in rows} == expected
    assert counts.get(("data_test_outcomes", "staging", "pass"), 0) > 0
    # the Great Expectations checks Dagster ran are counted beside dbt's tests
    assert counts.get(("gx_check_outcomes", "bronze", "pass"), 0) >= 2
    assert counts.get(("gx_check_outcomes", "intermediate", "pass"), 0) >= 3
    # one row per test, never the failing rows: the hook keeps counts only
    columns = [c for (c,) in query(
        scenario.settings,
        "select column_name from information_schema.columns where table_schema = 'silver'"
        " and table_name = 'dq_test_results' order by ordinal_position",
    )]  # fmt: skip
    assert set(columns) == {
        "test_unique_id", "test_name", "test_type", "tested_node", "tested_layer",
        "status", "failures", "executed_at", "invocation_id",
    }  # fmt: skip
    assert query(
        scenario.settings,
        "select count(*) = count(distinct test_unique_id) from silver.dq_test_results",
    )[0][0]


def test_history_keeps_one_set_per_data_state(scenario: Scenario) -> None:
    """Day 1 ran twice (one set), day 2 added one; the day-1 set still holds day 1's bronze rows."""
    day1, day2 = _states(scenario)
    assert day1 < day2
    for (layer, table, _, _), rows in _metrics(scenario, "layer_rows", day1).items():
        if layer == "bronze":
            loaded_at = _loaded_at(scenario, table)
            as_of_day1 = query(
                scenario.settings, f"select count(*) from bronze.{table} where {loaded_at} <= %s", (day1,)
            )[0][0]
            assert rows == as_of_day1, table
    sizes = query(scenario.settings, f"select data_as_of, count(*) from {MART} group by 1 order by 1")
    assert sizes[0][1] > 0 and sizes[1][1] > 0


def test_the_mart_holds_names_and_counts_only(scenario: Scenario) -> None:
    """No PHI: every text value is an identifier-like name (table, layer, rule, reason, status, batch,
    landing folder)."""
    rows = query(
        scenario.settings,
        f"select distinct unnest(array[metric_group, source, source_table, layer, relation,"
        f" metric, latest_batch]) from {MART}",
    )
    values = {value for (value,) in rows if value is not None}
    names = (value.replace("_", "").replace("-", "").replace("/", "") for value in values)
    assert values and all(name.isalnum() for name in names), values
