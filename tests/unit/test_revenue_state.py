"""The revenue-cycle simulator reads only the EHR extracts that are new since its previous day.

The shared landing (``revenue_landing``) simulates days 1, 2 and 3 one after the other, each day
continuing from the state the previous one saved: it must hold the same bytes as a landing where
every day folds the whole EHR landing again (no saved state), and day 2 must not open a day-1 EHR
file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingestion.billing.simulator import simulate_revenue_cycle_day
from ingestion.billing.simulator.state import load_state, saved_days, state_folder
from ingestion.landing import DATA_FILE_PATTERN, batch_id_for
from tests.unit.test_billing_simulator import (
    DAYS,
    ENV,
    SEED,
    TENANT,
    RevenueLanding,
    revenue_landing,
)

OUTPUTS = ("billing_", "claims_", "pharmacy_", "eligibility_")


@pytest.fixture(scope="module")
def landing() -> RevenueLanding:
    return revenue_landing()


def outputs(root: Path) -> dict[str, bytes]:
    base = root / TENANT / ENV
    return {
        str(path.relative_to(base)): path.read_bytes()
        for path in sorted(base.rglob("*"))
        if path.is_file() and path.relative_to(base).parts[0].startswith(OUTPUTS)
    }


def ehr_only(landing: RevenueLanding, target: Path) -> Path:
    shutil.copytree(
        landing.root,
        target,
        ignore=lambda _, names: [n for n in names if n.startswith((*OUTPUTS, ".simulator_state"))],
    )
    return target


def test_each_day_saves_its_state(landing: RevenueLanding) -> None:
    assert saved_days(landing.root, TENANT, ENV) == list(DAYS)
    states = load_state(landing.root, TENANT, ENV, SEED, DAYS[-1])
    assert sorted(states) == ["athena", "epic"]
    assert all(state.extract_dates == list(DAYS) for state in states.values())
    assert load_state(landing.root, TENANT, ENV, SEED + 1, DAYS[-1]) == {}  # another seed's state is no state


def test_incremental_days_equal_days_folded_from_scratch(landing: RevenueLanding, tmp_path: Path) -> None:
    root = ehr_only(landing, tmp_path / "landing")
    for day in DAYS:
        shutil.rmtree(state_folder(root, TENANT, ENV), ignore_errors=True)  # every day reads the whole EHR
        simulate_revenue_cycle_day(root, day=day, seed=SEED)
    assert outputs(root) == outputs(landing.root)


def test_day_two_does_not_read_day_one_ehr_files(landing: RevenueLanding, tmp_path: Path) -> None:
    root = ehr_only(landing, tmp_path / "landing")
    simulate_revenue_cycle_day(root, day=DAYS[0], seed=SEED)
    day_one = sorted((root / TENANT / ENV).glob(f"*/*/{batch_id_for(DAYS[0])}/{DATA_FILE_PATTERN}"))
    assert day_one
    for path in day_one:  # opening one of them now fails loudly
        path.unlink()
        path.mkdir()
    for day in DAYS[1:]:
        simulate_revenue_cycle_day(root, day=day, seed=SEED)
    assert outputs(root) == outputs(landing.root)


def test_a_day_run_again_after_a_crash_lands_the_same_files(landing: RevenueLanding, tmp_path: Path) -> None:
    root = ehr_only(landing, tmp_path / "landing")
    for day in DAYS[:2]:
        simulate_revenue_cycle_day(root, day=day, seed=SEED)
    base = root / TENANT / ENV
    for folder in base.glob(f"billing_*/transactions/{batch_id_for(DAYS[1])}"):
        shutil.rmtree(folder)  # day 2 crashed before its last manifests
    (state_folder(root, TENANT, ENV) / f"{batch_id_for(DAYS[1])}.json.gz").unlink()
    for day in DAYS[1:]:
        simulate_revenue_cycle_day(root, day=day, seed=SEED)
    assert outputs(root) == outputs(landing.root)
