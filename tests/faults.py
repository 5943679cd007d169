"""Fault injection for the crash tests: run a carehouse command in its own process group and
SIGKILL it (dbt and every other child included) the moment a condition shows it is in the
phase under test. Conditions look at what the process leaves behind (dlt's working folder, the
sessions it holds in Postgres), never inside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingestion.ehr.registry import ENV_EHR_REGISTRY
from warehouse.settings import Settings


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a user's shell would give ``carehouse`` for this warehouse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREHOUSE_", "DAGSTER_", "DBT_"))}
    env.update({"CAREHOUSE_HOME": str(settings.home), "CAREHOUSE_TENANT": settings.tenant})
    env["CAREHOUSE_ENV"] = settings.environment
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if settings.external_dsn:
        env["CAREHOUSE_DSN"] = settings.external_dsn
    if settings.configured_gold_key:
        env["CAREHOUSE_GOLD_KEY"] = settings.configured_gold_key
    if registry := os.environ.get(ENV_EHR_REGISTRY):  # the warehouse's EHR systems (e.g. the e2e's third)
        env[ENV_EHR_REGISTRY] = registry
    env.update(extra)
    return env


def start_cli(settings: Settings, *args: str, **extra_env: str) -> subprocess.Popen[str]:
    """``carehouse <args>`` in a new process group, output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=cli_env(settings, **extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run_cli(
    settings: Settings, *args: str, timeout: float = 900, **extra_env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=cli_env(settings, **extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Kill:
    killed: bool  # False: the process ended before the condition held
    output: str


def kill_when(process: subprocess.Popen[str], condition: Callable[[], bool], timeout: float = 600) -> Kill:
    """Poll ``condition`` and SIGKILL the process group as soon as it holds."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            hit = condition()
        except (OSError, psycopg.Error):
            hit = False
        if hit:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate()[0]
            return Kill(True, output)
        time.sleep(0.005)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    return Kill(False, process.communicate()[0])


def folder_has(root: Path, pattern: str) -> Callable[[], bool]:
    """True once something matches ``pattern`` under ``root`` (e.g. dlt's package folders)."""
    return lambda: any(root.glob(pattern))


def session_running(dsn: str, application: str, query_like: str) -> Callable[[], bool]:
    """True while a session named ``application`` runs a statement matching ``query_like``."""

    def check() -> bool:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            row = conn.execute(
                "select count(*) from pg_stat_activity where application_name = %s and state = 'active'"
                " and query ilike %s",
                (application, query_like),
            ).fetchone()
        return bool(row and row[0])

    return check
