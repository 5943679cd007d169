"""Changing the chart-review sample rate on the scenario's warehouse: every build uses the stored
rate, and past decisions keep the rate they were made with. Runs last in the package (it
changes the rate, then puts the default back)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from tests.e2e.conftest import Scenario, query
from warehouse.sample_rate import rate_in_force, set_sample_rate
from warehouse.sampling import sample_bucket

REVIEW_MODELS = ["--select", "mart_chart_review_decisions", "mart_chart_review"]


def _build_review(*extra: str) -> int:
    return CliRunner().invoke(app, ["dbt", "build", *REVIEW_MODELS, *extra]).exit_code


def _mart(scenario: Scenario) -> dict[str, tuple]:
    rows = query(
        scenario.settings,
        "select encounter_key, sample_key, is_sampled, sample_rate_pct, sample_rate_change_id,"
        " sampled_at_rate_pct, sampled_at_rate_change_id from review.mart_chart_review",
    )
    return {row[0]: row[1:] for row in rows}


def test_builds_use_the_stored_rate_and_past_decisions_keep_theirs(
    scenario: Scenario, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = scenario.settings
    assert rate_in_force(settings) == 10
    before = _mart(scenario)
    # the scenario's runs never changed the rate: every sampled encounter was decided at 10
    assert {row[4:] for row in before.values() if row[1]} == {(10, None)}

    assert set_sample_rate(settings, 30, "e2e test")
    assert _build_review() == 0
    raised = _mart(scenario)
    (change_30,) = {row[3] for row in raised.values()}
    for key, (sample_key, sampled, rate, _, at_rate, at_change) in raised.items():
        bucket = sample_bucket(sample_key)
        assert rate == 30 and sampled == (bucket < 30)
        if bucket < 10:
            assert (at_rate, at_change) == (10, None), key  # decided at 10 before: kept
        elif bucket < 30:
            assert (at_rate, at_change) == (30, change_30), key  # newly sampled, with the change in force
        else:
            assert (at_rate, at_change) == (None, None), key

    assert set_sample_rate(settings, 5, "e2e test")
    assert _build_review() == 0
    lowered = _mart(scenario)
    for key, (sample_key, sampled, rate, change, at_rate, at_change) in lowered.items():
        assert rate == 5 and change > change_30 and sampled == (sample_bucket(sample_key) < 5)
        # no longer sampled or not, the past decision is not rewritten
        assert (at_rate, at_change) == raised[key][4:], key
    assert any(not row[1] and row[4] == 30 for row in lowered.values())

    # a one-off rate for one dbt build would be forgotten by the next run: refused, not applied
    capfd.readouterr()
    assert _build_review("--vars", "{sample_rate_pct: 50}") != 0
    assert "carehouse run --sample-rate" in capfd.readouterr().out  # dbt's own output
    assert {row[2] for row in _mart(scenario).values()} == {5}

    assert set_sample_rate(settings, 10, "e2e test")  # the default again for anything after
    assert _build_review() == 0
