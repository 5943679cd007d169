"""The operator's view, in a real browser: `carehouse ui` on the scenario's warehouse, driven by
Playwright with Debian's Chromium (`.ci/run` installs it).

It checks what an operator does first: the lineage runs landing → bronze → silver → snapshots →
gold; the `carehouse run` run is on the daily_pipeline job page and "Re-execute" of it
succeeds; "Materialize" on a gold asset succeeds; a failing blocking check shows as failed and
its alert reaches the webhook. Screenshots are saved under the test's temporary folder.
Runs last in the package (file name), after the modules that read the scenario's runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingestion.landing import batch_dir
from tests.e2e.conftest import Scenario
from tests.faults import cli_env
from warehouse.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
RUN_TIMEOUT_S = 900
# CI always has it (.ci/run installs it); elsewhere, without it, the test says what it needs
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium (apt-get install chromium)",
)

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Ui:
    url: str
    settings: Settings
    alerts: list[dict]
    shots: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def ui(scenario: Scenario, webhook, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    url, received = webhook
    port = _free_port()
    env = cli_env(scenario.settings, CAREHOUSE_ALERT_WEBHOOK=url)
    log = tmp_path_factory.mktemp("ui") / "carehouse-ui.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "ui", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_code_location(base, process, log)
        yield Ui(base, scenario.settings, received, tmp_path_factory.mktemp("screenshots"))
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def _graphql(base: str, query: str) -> dict:
    import urllib.request

    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


LOCATION_STATUS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def _wait_for_code_location(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            entries = _graphql(base, LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                assert [entry["name"] for entry in entries] == ["carehouse"]
                return
        except OSError:
            pass
        time.sleep(2)
    raise AssertionError(f"carehouse ui did not load its code location:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser(ui: Ui) -> Iterator:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, ui: Ui):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(60_000)
    yield page
    page.close()


def _open(page, ui: Ui, path: str) -> None:
    page.goto(f"{ui.url}{path}")
    with contextlib.suppress(sync_api.TimeoutError):  # the first visit's newsletter dialog
        page.get_by_role("button", name="Skip").click(timeout=5_000)


def _materialize_button(page):
    """The asset page's "Materialize" (its icon is part of the accessible name, so match the text)."""
    import re

    return page.get_by_role("button").filter(has_text=re.compile(r"^\s*Materialize\s*$")).first


def _new_run_after(ui: Ui, known: set[str]) -> str:
    from orchestration.instance import carehouse_instance

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = [run.run_id for run in carehouse_instance(ui.settings).get_runs() if run.run_id not in known]
        if runs:
            return runs[0]
        time.sleep(1)
    raise AssertionError("the UI launched no run")


def _known_runs(ui: Ui) -> set[str]:
    from orchestration.instance import carehouse_instance

    return {run.run_id for run in carehouse_instance(ui.settings).get_runs()}


def _wait_for_run(ui: Ui, run_id: str):
    from orchestration.instance import carehouse_instance

    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = carehouse_instance(ui.settings).get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run
        time.sleep(3)
    raise AssertionError(f"run {run_id} did not finish in {RUN_TIMEOUT_S} s")


def test_lineage_connects_landing_bronze_silver_snapshots_and_gold(page, ui: Ui) -> None:
    nodes = _graphql(ui.url, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")["assetNodes"]
    parents = {
        "/".join(node["assetKey"]["path"]): {"/".join(dep["path"]) for dep in node["dependencyKeys"]}
        for node in nodes
    }

    def upstream(key: str) -> set[str]:
        seen, todo = set(), [key]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    # dim_patient reads the patient snapshot, which reads silver, which reads bronze, then landing
    lineage = upstream("gold/dim_patient")
    for layer in ("snapshots/", "silver/", "bronze/", "landing/"):
        assert any(key.startswith(layer) for key in lineage), layer
    assert "landing/ehr_extract" in lineage and "bronze/ehr__patient" in lineage
    _open(page, ui, "/asset-groups")
    for group in ("landing", "bronze", "silver", "snapshots", "gold"):
        page.get_by_text(group, exact=True).first.wait_for()
    page.screenshot(path=str(ui.shots / "lineage.png"))


def _latest_carehouse_run(ui: Ui) -> str:
    """The newest run `carehouse run` made that the home still keeps (it keeps the newest
    KEEP_RUNS runs; the modules before this one add runs of their own)."""
    from dagster import DagsterRunStatus, RunsFilter

    from orchestration.housekeeping import CLI_LAUNCHER, LAUNCHED_BY_TAG
    from orchestration.instance import carehouse_instance
    from orchestration.jobs import DAILY_JOB_NAME

    runs = carehouse_instance(ui.settings).get_runs(
        RunsFilter(
            job_name=DAILY_JOB_NAME, tags={LAUNCHED_BY_TAG: CLI_LAUNCHER}, statuses=[DagsterRunStatus.SUCCESS]
        ),
        limit=1,
    )
    assert runs, "no successful carehouse run is kept"
    return runs[0].run_id


def test_the_carehouse_run_is_on_the_job_page_and_re_executes(page, ui: Ui) -> None:
    import re

    cli_run = _latest_carehouse_run(ui)
    _open(page, ui, "/locations/carehouse/jobs/daily_pipeline/runs")
    page.get_by_text(cli_run[:8]).first.wait_for()
    page.screenshot(path=str(ui.shots / "job-runs.png"))
    known = _known_runs(ui)
    _open(page, ui, f"/runs/{cli_run}")
    page.get_by_role("button", name=re.compile(r"^Re-execute all")).click()
    rerun = _wait_for_run(ui, _new_run_after(ui, known))
    _open(page, ui, f"/runs/{rerun.run_id}")
    page.screenshot(path=str(ui.shots / "re-executed-run.png"))
    assert rerun.status.value == "SUCCESS", rerun.status
    assert rerun.parent_run_id == cli_run and rerun.tags.get("carehouse/extract_date")


def test_materialize_a_gold_asset_from_the_ui(page, ui: Ui) -> None:
    known = _known_runs(ui)
    _open(page, ui, "/assets/gold/dim_date")
    _materialize_button(page).click()
    run = _wait_for_run(ui, _new_run_after(ui, known))
    _open(page, ui, f"/runs/{run.run_id}")
    page.screenshot(path=str(ui.shots / "materialize-dim-date.png"))
    assert run.status.value == "SUCCESS", run.status


SENSOR_TICKS = """{ sensorOrError(sensorSelector: {repositoryLocationName: "carehouse",
  repositoryName: "__repository__", sensorName: "blocking_check_alert_sensor"}) {
  ... on Sensor { sensorState { ticks(limit: 1) { timestamp } } } } }"""


def test_a_failing_blocking_check_shows_failed_and_alerts(page, ui: Ui) -> None:
    # the alert sensor starts from its first tick: anything before it is history
    deadline = time.monotonic() + 180
    while not _graphql(ui.url, SENSOR_TICKS)["sensorOrError"]["sensorState"]["ticks"]:
        assert time.monotonic() < deadline, "the alert sensor never ticked"
        time.sleep(2)
    # a batch folder that never got its manifest, written long ago: the landing check fails
    settings = ui.settings
    orphan = batch_dir(
        settings.landing_dir, settings.tenant, settings.environment, "epic", "patient", "20250101T060000Z"
    )
    orphan.mkdir(parents=True)
    (orphan / "patient-0000.ndjson").write_text('{"resourceType": "Patient", "id": "p0"}\n')
    os.utime(orphan / "patient-0000.ndjson", (1_700_000_000, 1_700_000_000))
    try:
        known = _known_runs(ui)
        _open(page, ui, "/assets/bronze/landing__batches")
        _materialize_button(page).click()
        run = _wait_for_run(ui, _new_run_after(ui, known))
        # the asset's one check, landing_batches_match_their_manifests, is shown failed
        _open(page, ui, "/assets/bronze/landing__batches?view=checks")
        page.locator("text=Failed >> visible=true").first.wait_for()
        page.screenshot(path=str(ui.shots / "failed-blocking-check.png"))
        deadline = time.monotonic() + 240  # the alert sensor ticks every minute
        while not any(alert.get("run_id") == run.run_id for alert in ui.alerts):
            assert time.monotonic() < deadline, f"no alert for run {run.run_id}: {ui.alerts}"
            time.sleep(3)
        (alert,) = [alert for alert in ui.alerts if alert["run_id"] == run.run_id]
        assert any("landing_batches_match_their_manifests" in name for name in alert["failed_checks"])
        assert "p0" not in json.dumps(alert)  # names and counts only, never data
    finally:
        shutil.rmtree(orphan)
        _recheck_landing(settings)


def _recheck_landing(settings: Settings) -> None:
    """The landing audit again once the batch is gone: the check passes, the batch is "removed"."""
    from dagster import materialize

    from orchestration.assets.landing_audit import landing_batches
    from orchestration.checks.landing import landing_batches_match_their_manifests

    result = materialize([landing_batches, landing_batches_match_their_manifests], raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.metadata
