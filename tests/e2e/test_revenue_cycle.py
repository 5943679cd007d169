"""The revenue cycle end to end: billing extracts and payer claim files through the load config,
bronze, silver and gold, checked against an independent Python calculation from the landing files
(tests/revenue_reference.py) on the shared scenario's warehouse (tests/e2e/conftest.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from ingestion.feeds.config import DEFAULT_CONFIG_PATH, ENV_LOAD_CONFIG, load_config
from orchestration.runner import run_daily_pipeline
from tests import revenue_reference as reference
from tests.e2e.conftest import DAY_2, PATIENTS, SEED, Scenario, query
from warehouse.keys import gold_key, keyed_hash

pytestmark = pytest.mark.e2e

# Injected like the other dirt, but silver keeps these rows (the money counts) and flags them.
PATIENT_FLAGS = ("invalid_patient_id", "unknown_patient")
QUARANTINE_TABLES = {
    "transactions": "quarantine_billing__transactions",
    "providers": "quarantine_billing__providers",
    "claim_lines": "quarantine_claims__claim_lines",
}


def _landing(scenario: Scenario) -> tuple[Path, str, str]:
    settings = scenario.settings
    return settings.landing_dir, settings.tenant, settings.environment


def _surrogate_key(scenario: Scenario, *parts: str) -> str:
    """dbt's surrogate_key: the keyed hash of the parts joined with '|'."""
    return keyed_hash(gold_key(scenario.settings), "|".join(parts))


def _configured_payers() -> set[str]:
    return {feed.source_system for feed in load_config().active_feeds if feed.table == "claims__claim_lines"}


def test_every_dollar_reconciles_per_account_with_the_python_calculation(scenario: Scenario) -> None:
    expected = reference.expected_ar_by_account(*_landing(scenario))
    actual = dict(
        query(scenario.settings, "select account_key, outstanding_ar from gold.mart_account_balances")
    )
    assert len(expected) > PATIENTS / 2
    assert {
        _surrogate_key(scenario, system, account): ar for (system, account), ar in expected.items()
    } == actual


def test_charges_minus_payments_and_adjustments_is_outstanding_ar_in_total(scenario: Scenario) -> None:
    expected = reference.expected_totals(*_landing(scenario))
    charges, payments, adjustments, write_offs, outstanding = query(
        scenario.settings,
        "select sum(charges), sum(payments), sum(adjustments), sum(write_offs), sum(outstanding_ar)"
        " from gold.mart_account_balances",
    )[0]
    assert (charges, payments, adjustments, write_offs, outstanding) == (
        expected["charges"],
        expected["payments"],
        expected["adjustments"],
        expected["write_offs"],
        expected["outstanding_ar"],
    )
    assert outstanding == charges - payments - adjustments - write_offs
    assert Decimal(0) < outstanding < charges


@pytest.mark.parametrize("as_of", [date(2024, 6, 30), date(2025, 1, 31), DAY_2])
def test_ar_aging_as_of_a_day_matches_the_python_calculation(scenario: Scenario, as_of: date) -> None:
    expected = reference.expected_ar_aging(*_landing(scenario), as_of)
    rows = query(
        scenario.settings,
        "select p.payer_code, a.aging_bucket, a.open_balance from gold.mart_ar_aging a"
        " join gold.dim_payer p using (payer_key) where a.as_of_date = %s and a.open_balance <> 0",
        (as_of,),
    )
    assert expected, as_of
    assert {(payer, bucket): balance for payer, bucket, balance in rows} == expected


def test_quarantine_counts_equal_the_injected_dirt(scenario: Scenario) -> None:
    landing = _landing(scenario)
    payers = _configured_payers()
    expected = Counter(reference.expected_quarantine_counts(*landing))
    for row in reference.claim_rows(*landing):  # files of payers nobody onboarded are not loaded
        if row.reason and row.payer not in payers:
            expected[("claim_lines", row.reason)] -= 1
    actual: Counter[tuple[str, str]] = Counter()
    for kind, table in QUARANTINE_TABLES.items():
        for reason, count in query(
            scenario.settings, f"select quarantine_reason, count(*) from silver.{table} group by 1"
        ):
            actual[(kind, reason)] = count
    assert +expected == +actual
    # the simulator's own ground truth, written in each batch manifest, says the same
    injected = {r: c for r, c in _injected_dirt(landing, payers).items() if r not in PATIENT_FLAGS}
    assert injected == {reason: sum(c for (_, r), c in actual.items() if r == reason) for reason in injected}
    assert {"invalid_date", "invalid_amount", "unknown_payer", "negative_charge", "duplicate_row"} <= {
        reason for _, reason in actual
    }


def test_bad_patient_ids_are_kept_and_reach_gold_with_no_patient_key(scenario: Scenario) -> None:
    landing = _landing(scenario)
    # staging flags an id that is missing or no id; cdm_transactions tells ids the EHR does not know
    found = dict(
        query(
            scenario.settings,
            "select 'invalid_patient_id', count(*) from silver.stg_billing__transactions"
            " where _dq_flags ~ 'INVALID_PATIENT_ID'"
            " union all select 'unknown_patient', count(*) from silver.cdm_transactions"
            " where patient_id is not null and not is_ehr_patient",
        )
    )
    injected = {r: c for r, c in _injected_dirt(landing, _configured_payers()).items() if r in PATIENT_FLAGS}
    assert found == reference.expected_flag_counts(*landing) == injected
    assert all(found.values())
    # kept, not quarantined: every such row is usable and reaches gold without a patient
    usable_invalid, keyless, gold_keyless, gold_patients_missing = query(
        scenario.settings,
        """
        select
            (select count(*) from silver.stg_billing__transactions
             where _dq_flags ~ 'INVALID_PATIENT_ID' and quarantine_reason is null),
            (select count(*) from silver.cdm_transactions where patient_key is null),
            (select count(*) from gold.fct_transactions where patient_durable_key is null),
            (select count(*) from gold.fct_transactions f
             where f.patient_durable_key is not null and f.patient_key is null)
        """,
    )[0]
    assert usable_invalid + found["unknown_patient"] == keyless == gold_keyless
    assert gold_patients_missing == 0
    # the data steward sees both: the staging flag in the data-quality mart, the unknown patients
    # as a warning with their count
    flags = query(
        scenario.settings,
        "select metric_value from gold.mart_data_quality_metrics"
        " where data_as_of = (select max(data_as_of) from gold.mart_data_quality_metrics)"
        " and metric_group = 'dq_flags' and relation = 'stg_billing__transactions'"
        " and metric = 'INVALID_PATIENT_ID'",
    )
    assert flags == [(found["invalid_patient_id"],)]
    warned = query(
        scenario.settings,
        "select status, failures from silver.dq_test_results"
        " where test_name like 'expression_is_true_cdm_transactions_is_ehr_patient%%'",
    )
    assert warned == [("warn", found["unknown_patient"])]


def _injected_dirt(landing: tuple[Path, str, str], payers: set[str]) -> dict[str, int]:
    import json

    root, tenant, env = landing
    counts: Counter[str] = Counter()
    base = root / tenant / env
    systems = [f"billing_{s}" for s in reference.BILLING_SYSTEMS] + [f"claims_{p}" for p in payers]
    for system in systems:
        for entity_dir in sorted((base / system).glob("*")):
            manifests = sorted(entity_dir.glob("*/manifest.json"))
            if entity_dir.name == "providers":  # full extracts: only the newest one counts
                manifests = manifests[-1:]
            for manifest in manifests:
                counts.update(json.loads(manifest.read_text()).get("dirty", {}))
    return {reason: count for reason, count in counts.items() if count}


def test_raw_rows_in_equal_silver_rows_plus_quarantined_rows(scenario: Scenario) -> None:
    (bronze_tx, staged_tx, quarantined_tx, cdm_tx, bronze_claims, staged_claims, quarantined_claims) = query(
        scenario.settings,
        """
        select
            (select count(*) from bronze.billing__transactions),
            (select count(*) from silver.stg_billing__transactions),
            (select count(*) from silver.quarantine_billing__transactions),
            (select count(*) from silver.cdm_transactions),
            (select count(*) from bronze.claims__claim_lines),
            (select count(*) from silver.stg_claims__claim_lines where quarantine_reason is null),
            (select count(*) from silver.quarantine_claims__claim_lines)
        """,
    )[0]
    assert bronze_tx == staged_tx == quarantined_tx + cdm_tx
    assert bronze_claims == staged_claims + quarantined_claims


def test_a_resubmitted_claim_file_supersedes_the_earlier_one(scenario: Scenario) -> None:
    landing = _landing(scenario)
    payers = _configured_payers()
    expected = Counter(
        (row.payer, row.values["claim_id"], row.values["claim_line"])
        for row in reference.current_claim_rows(*landing)
        if row.payer in payers
    )
    rows = query(
        scenario.settings,
        "select payer_feed_code, claim_id, claim_line::text, count(*) from silver.int_claim_lines_current"
        " group by 1, 2, 3",
    )
    assert {(payer, claim, line): count for payer, claim, line, count in rows} == dict(expected)
    superseded, resubmitted_months = query(
        scenario.settings,
        "select count(*) filter (where is_superseded),"
        " count(distinct (payer_feed_code, claim_month)) filter (where is_superseded)"
        " from silver.stg_claims__claim_lines",
    )[0]
    assert superseded > 0 and resubmitted_months > 0


def test_a_file_whose_columns_change_is_loaded_and_the_change_recorded(scenario: Scenario) -> None:
    changes = query(
        scenario.settings,
        "select source_system, columns_added, columns_missing from bronze.feeds__file_log"
        " where jsonb_array_length(columns_added) > 0 order by file_date limit 1",
    )
    assert changes, "no schema change recorded"
    payer, added, missing = changes[0]
    assert payer == "bcbs"
    assert {"plan_type", "denial_reason_code"} <= set(added)
    assert missing == ["denial_reason"]
    # the renamed column still reaches gold: denials after the change keep their reason
    after_change = query(
        scenario.settings,
        "select count(*), count(denial_reason_code), count(plan_type) from silver.stg_claims__claim_lines"
        " where payer_feed_code = 'bcbs' and claim_status = 'denied' and quarantine_reason is null"
        " and plan_type is not null",
    )[0]
    assert after_change[0] > 0 and after_change[0] == after_change[1] == after_change[2]


def test_invalid_npis_are_quarantined_and_valid_ones_reach_the_roster(scenario: Scenario) -> None:
    newest = reference.newest_provider_rows(*_landing(scenario))
    valid = sum(reference.is_valid_npi(r["npi"]) for rows in newest.values() for r in rows)
    invalid = sum(not reference.is_valid_npi(r["npi"]) for rows in newest.values() for r in rows)
    roster, quarantined = query(
        scenario.settings,
        "select (select count(*) from silver.int_billing_providers_current),"
        " (select count(*) from silver.quarantine_billing__providers"
        "  where quarantine_reason = 'invalid_npi')",
    )[0]
    assert (roster, quarantined) == (valid, invalid)
    assert invalid > 0


def test_revenue_marts_look_like_a_real_practice(scenario: Scenario) -> None:
    rates = dict(
        query(
            scenario.settings,
            "select p.payer_code, c.collection_rate from gold.mart_collection_rate_by_aging_bucket c"
            " join gold.dim_payer p using (payer_key) where c.aging_bucket = '0-30'",
        )
    )
    assert rates["BCBS"] > Decimal("0.85")  # the best payer collects most dollars within 30 days
    assert rates["SELFPAY"] < rates["MEDICARE"] < rates["BCBS"]
    days_in_ar = query(
        scenario.settings,
        "select days_in_ar from gold.mart_days_in_ar_by_month order by month_end_date desc limit 1",
    )[0][0]
    assert Decimal(15) < days_in_ar < Decimal(90)
    denial = query(
        scenario.settings,
        "select sum(denied_lines)::numeric / max(adjudicated_lines)"
        " from gold.mart_denial_rate_by_payer_reason group by payer_key",
    )
    assert all(Decimal("0.01") < rate < Decimal("0.25") for (rate,) in denial)


def test_gold_revenue_tables_carry_no_account_numbers_or_claim_ids(scenario: Scenario) -> None:
    account = query(scenario.settings, "select account_number from silver.cdm_transactions limit 1")[0][0]
    claim = query(scenario.settings, "select claim_id from silver.int_claim_lines_current limit 1")[0][0]
    tables = query(
        scenario.settings,
        "select table_name from information_schema.tables where table_schema = 'gold'"
        " and table_name ~ '(payer|claim|_ar_|transaction|account|denial|collection)'",
    )
    assert len(tables) >= 10
    for (table,) in tables:
        hits = query(
            scenario.settings,
            f"select count(*) from gold.{table} t where strpos(t::text, %s) > 0 or strpos(t::text, %s) > 0",
            (account, claim),
        )[0][0]
        assert hits == 0, table


def test_a_new_payer_feed_loads_end_to_end_through_the_config_file_alone(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs last (it onboards cigna, so later figures would include it)."""
    assert "cigna" not in _configured_payers()
    document = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    document["feeds"].append(
        {
            "source_system": "cigna",
            "entity": "claim_lines",
            "table": "claims__claim_lines",
            "path": "claims_cigna/claim_lines/*/claims_cigna_*.csv",
            "load_type": "incremental",
            "watermark_column": "submitted_date",
            "primary_key": ["claim_id", "claim_line"],
            "active": True,
        }
    )
    config = tmp_path / "load_config.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    monkeypatch.setenv(ENV_LOAD_CONFIG, str(config))

    run = run_daily_pipeline(DAY_2, seed=SEED, patients=PATIENTS, settings=scenario.settings)

    assert run.success, run.failed_steps
    assert run.failed_checks == []
    expected_lines = {
        (row.values["claim_id"], row.values["claim_line"])
        for row in reference.current_claim_rows(*_landing(scenario))
        if row.payer == "cigna"
    }
    lines, has_feed = query(
        scenario.settings,
        "select (select count(*) from gold.fct_claims f join gold.dim_payer p using (payer_key)"
        "        where p.payer_code = 'CIGNA'),"
        " (select has_claims_feed from gold.dim_payer where payer_code = 'CIGNA')",
    )[0]
    assert expected_lines and lines == len(expected_lines)
    assert has_feed is True
