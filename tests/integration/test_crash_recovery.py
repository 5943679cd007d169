"""A bronze load killed at any point, then run again, leaves bronze exactly as one clean load.

Every test lands the same two days of both EHRs, breaks a load of it in one way (SIGKILL in
extract, normalize or load, the local dlt folder lost after a partial load, the Postgres
postmaster killed mid-load, two loads at once), loads again and compares bronze, row for row,
with a warehouse that loaded the same files once without trouble. Real Postgres, real dlt,
the real command line in its own process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

from ingestion.ehr.pipeline import PIPELINE_NAME, load_ehr_to_bronze
from ingestion.ehr.simulator import simulate_ehr_extract
from ingestion.landing import batch_id_for
from tests.conftest import scratch_database
from tests.faults import cli_env, folder_has, kill_when, run_cli, start_cli
from tests.warehouse_state import differences, warehouse_state
from warehouse.embedded import EmbeddedPostgres
from warehouse.lock import writer_lock
from warehouse.settings import Settings

DAY_1, DAY_2 = date(2025, 3, 1), date(2025, 3, 2)
PATIENTS = 150
# a table whose COPY the tests hold back with a lock, so that the load is caught half-committed
HELD_TABLE = "ehr__patient"


@pytest.fixture(scope="module")
def landing(warehouse_settings: Settings) -> Iterator[Path]:
    """Both EHRs' extracts of two days (the second an increment), simulated once."""
    root = Path(tempfile.mkdtemp(prefix="carehouse-landing-"))
    for day in (DAY_1, DAY_2):
        simulate_ehr_extract(
            root, extract_date=day, seed=5, patients=PATIENTS, tenant=warehouse_settings.tenant,
            env=warehouse_settings.environment,
        )  # fmt: skip
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _land(landing: Path, settings: Settings, day: date) -> None:
    """Copy one day's batches into the warehouse's landing zone (as the EHR would drop them)."""
    batch = batch_id_for(day)
    for folder in landing.glob(f"*/*/*/*/{batch}"):
        shutil.copytree(folder, settings.landing_dir / folder.relative_to(landing))


@pytest.fixture(scope="module")
def clean_bronze(warehouse_settings: Settings, landing: Path, tmp_path_factory: pytest.TempPathFactory):
    """Bronze after one clean load of both days: what every broken load must end up equal to."""
    home = tmp_path_factory.mktemp("reference")
    with scratch_database(warehouse_settings, "crash_reference", home) as settings:
        for day in (DAY_1, DAY_2):
            _land(landing, settings, day)
        load_ehr_to_bronze(settings)
        yield warehouse_state(settings.dsn, ["bronze"])


@pytest.fixture
def warehouse(warehouse_settings: Settings, landing: Path, tmp_path: Path, request) -> Iterator[Settings]:
    name = f"crash_{request.node.name}".lower()[:50].replace("[", "_").replace("]", "").replace("-", "_")
    with scratch_database(warehouse_settings, name, tmp_path / "home") as settings:
        yield settings


def _assert_equal(settings: Settings, clean: dict[str, Counter[str]]) -> None:
    found = differences(clean, warehouse_state(settings.dsn, ["bronze"]))
    assert found == {}, found


def _assert_load_succeeds(settings: Settings) -> str:
    done = run_cli(settings, "load", "ehr")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("phase", "marker"),
    [
        # dlt's working folder says where the load is: an extracted package, then one being normalized
        ("extract", "normalize/extracted/*/new_jobs/*"),
        ("normalize", "load/new/*"),
    ],
)
def test_a_load_killed_in_extract_or_normalize_then_rerun_equals_a_clean_load(
    warehouse: Settings, landing: Path, clean_bronze, phase: str, marker: str
) -> None:
    for day in (DAY_1, DAY_2):
        _land(landing, warehouse, day)
    working = warehouse.dlt_pipelines_dir / PIPELINE_NAME
    kill = kill_when(start_cli(warehouse, "load", "ehr"), folder_has(working, marker))
    assert kill.killed, f"the load ended before it reached {phase}:\n{kill.output}"
    assert any(working.glob(marker)), "the kill left dlt's working files behind"
    _assert_load_succeeds(warehouse)
    _assert_equal(warehouse, clean_bronze)
    assert not working.exists(), "dlt's working files (raw copies of the data) are gone after a load"


def _hold_table(settings: Settings) -> psycopg.Connection:
    """A session that locks one bronze table: the next load commits the other tables and waits."""
    conn = psycopg.connect(settings.dsn)
    conn.execute(f"lock table bronze.{HELD_TABLE} in access exclusive mode")
    return conn


def _half_committed(settings: Settings, committed_before: int) -> bool:
    """The load waits on the held table and at least one other table already committed rows."""
    with psycopg.connect(settings.dsn, connect_timeout=2) as conn:
        waiting = conn.execute(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'copy%%'"
        ).fetchone()[0]
        committed = conn.execute("select count(*) from bronze.ehr__encounter").fetchone()[0]
    return bool(waiting) and committed > committed_before


def _count(settings: Settings, table: str) -> int:
    with psycopg.connect(settings.dsn) as conn:
        return conn.execute(f"select count(*) from bronze.{table}").fetchone()[0]


def test_a_load_killed_half_committed_with_its_dlt_folder_lost_loses_nothing(
    warehouse: Settings, landing: Path, clean_bronze
) -> None:
    """The case that used to drop rows: some tables of a file committed, the rest not, and the
    local dlt state gone. A file counts as loaded only when its whole load completed."""
    _land(landing, warehouse, DAY_1)
    _assert_load_succeeds(warehouse)
    _land(landing, warehouse, DAY_2)
    before = _count(warehouse, "ehr__encounter")
    holder = _hold_table(warehouse)
    try:
        kill = kill_when(start_cli(warehouse, "load", "ehr"), lambda: _half_committed(warehouse, before))
    finally:
        holder.close()
    assert kill.killed, kill.output
    assert _count(warehouse, "ehr__encounter") > before, "some of day 2 had committed when the load died"
    shutil.rmtree(warehouse.dlt_pipelines_dir, ignore_errors=True)  # a lost (or fresh) dlt folder
    _assert_load_succeeds(warehouse)
    _assert_equal(warehouse, clean_bronze)
    # and once more: nothing new, nothing doubled
    _assert_load_succeeds(warehouse)
    _assert_equal(warehouse, clean_bronze)


def test_two_loads_at_once_load_every_file_once(warehouse: Settings, landing: Path, clean_bronze) -> None:
    for day in (DAY_1, DAY_2):
        _land(landing, warehouse, day)
    first, second = start_cli(warehouse, "load", "ehr"), start_cli(warehouse, "load", "ehr")
    outputs = [first.communicate(timeout=600)[0], second.communicate(timeout=600)[0]]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    assert any("waiting for the warehouse" in out and "holds the writer lock" in out for out in outputs), (
        outputs
    )
    third = _assert_load_succeeds(warehouse)
    assert "0 new file(s), 0 rows" in third
    _assert_equal(warehouse, clean_bronze)


def test_a_busy_warehouse_is_one_line_for_a_writer_that_will_not_wait(
    warehouse: Settings, landing: Path
) -> None:
    _land(landing, warehouse, DAY_1)
    with writer_lock(warehouse, "a test that holds the lock"):
        busy = run_cli(warehouse, "load", "ehr", CAREHOUSE_LOCK_TIMEOUT="0")
    assert busy.returncode == 1
    output = (busy.stdout + busy.stderr).strip()
    assert len(output.splitlines()) == 1, output
    assert output.startswith("error: the warehouse is busy: a test that holds the lock (pid"), output


def test_a_killed_writer_frees_the_lock(warehouse: Settings) -> None:
    hold = (
        "import time; from warehouse.lock import writer_lock; from warehouse.settings import get_settings;"
        " held = writer_lock(get_settings(), 'doomed writer'); held.__enter__(); print('held', flush=True);"
        " time.sleep(600)"
    )
    doomed = subprocess.Popen(
        [sys.executable, "-c", hold], env=cli_env(warehouse), stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert doomed.stdout is not None and doomed.stdout.readline().strip() == "held"
    busy = run_cli(warehouse, "load", "ehr", CAREHOUSE_LOCK_TIMEOUT="0")
    assert busy.returncode == 1 and "doomed writer" in busy.stdout + busy.stderr
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    free = run_cli(warehouse, "load", "ehr", CAREHOUSE_LOCK_TIMEOUT="30")
    assert free.returncode == 0, free.stdout + free.stderr


def test_the_postmaster_killed_mid_load_then_restarted_loses_nothing(
    warehouse_settings: Settings, landing: Path, clean_bronze
) -> None:
    """Its own embedded server, since the test kills it."""
    home = Path(tempfile.mkdtemp(prefix="carehouse-postmaster-"))
    settings = Settings(
        home=home,
        external_dsn=None,
        tenant=warehouse_settings.tenant,
        environment=warehouse_settings.environment,
        configured_gold_key=warehouse_settings.configured_gold_key,
    )
    server = EmbeddedPostgres(settings.pgdata_dir)
    try:
        settings.dsn  # noqa: B018 - start it
        _land(landing, settings, DAY_1)
        _assert_load_succeeds(settings)
        _land(landing, settings, DAY_2)
        before = _count(settings, "ehr__encounter")
        holder = _hold_table(settings)
        loader = start_cli(settings, "load", "ehr")
        deadline = time.monotonic() + 300
        while not _half_committed(settings, before):
            assert loader.poll() is None and time.monotonic() < deadline, loader.communicate()[0]
            time.sleep(0.01)
        postmaster = server.status().pid
        assert postmaster is not None
        os.kill(postmaster, signal.SIGKILL)
        output = loader.communicate(timeout=300)[0]
        assert loader.returncode != 0, output
        holder.close()
        server.ensure_running()  # crash recovery
        assert server.status().port == int(settings.dsn.rsplit(":", 1)[1].split("/")[0]), "same port"
        _assert_load_succeeds(settings)
        _assert_equal(settings, clean_bronze)
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
