"""dbt's partial parse survives a change of DSN or port: the parse carehouse keeps for its dbt steps
is re-made once for the new connection, and a step afterwards parses nothing.

dbt hashes the profile's connection values (host, port, user, database; not the password) into
its partial parse and throws the whole parse away when they differ. No server is needed: ``dbt
parse`` renders the profile but never connects.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.dbt_project import dbt_executable, dbt_project_args
from warehouse.settings import DBT_ENV_PREFIX, ENV_DSN, ENV_HOME, ConnectionFacts

DSN_BEFORE = "postgresql://postgres@127.0.0.1:55999/carehouse"
DSN_AFTER = "postgresql://postgres@127.0.0.1:56001/carehouse"  # e.g. the embedded server moved port


def _env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith((DBT_ENV_PREFIX, "DBT_")) and key not in ("PGOPTIONS", ENV_DSN, ENV_HOME)
    }
    return {**env, **extra}


def _ensure_manifest(home: Path, dsn: str) -> None:
    """What importing the Dagster definitions does (a process of its own: the dbt project's target
    folder is fixed at import)."""
    script = "from orchestration.dbt_project import ensure_manifest; ensure_manifest()"
    env = _env(**{ENV_HOME: str(home), ENV_DSN: dsn})
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _step(home: Path, dsn: str, folder: Path) -> tuple[str, dict]:
    """A dbt step as dagster-dbt starts one: its own target folder, seeded with the kept
    partial_parse.msgpack, the connection of ``dsn``."""
    folder.mkdir(parents=True)
    shutil.copy(home / "dbt" / "target" / "partial_parse.msgpack", folder)
    connection = ConnectionFacts.from_dsn(dsn).dbt_env()
    env = _env(**connection, DBT_TARGET_PATH=str(folder), DBT_LOG_PATH=str(folder))
    done = subprocess.run(
        [dbt_executable(), "parse", *dbt_project_args()], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads((folder / "perf_info.json").read_text())


def test_a_dsn_change_costs_one_parse_then_every_step_reuses_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _ensure_manifest(home, DSN_BEFORE)
    kept = home / "dbt" / "target"
    assert "127.0.0.1" in (kept / "parsed_for.json").read_text()

    _ensure_manifest(home, DSN_AFTER)  # the sources did not change, the connection did
    log = (kept / "dbt.log").read_text()
    # why a parse for the old port is useless to every step on the new one
    assert "Unable to do partial parsing because profile has changed" in log
    assert "56001" in (kept / "parsed_for.json").read_text()

    output, perf = _step(home, DSN_AFTER, tmp_path / "step")
    assert "Unable to do partial parsing" not in output, output
    assert perf["is_partial_parse_enabled"] and perf["parsed_path_count"] == 0, perf

    # unchanged sources and connection: nothing to parse at all
    before = (kept / "manifest.json").stat().st_mtime
    _ensure_manifest(home, DSN_AFTER)
    assert (kept / "manifest.json").stat().st_mtime == before


def test_the_embedded_servers_parse_uses_its_remembered_port(tmp_path: Path) -> None:
    """The embedded server down, on another port than the default since it found that one taken:
    the parse is made for the port it will listen on again, the one its dbt steps will use."""
    from warehouse.embedded import DEFAULT_PORT, EmbeddedPostgres

    (tmp_path / "pgserver.json").write_text(json.dumps({"port": DEFAULT_PORT + 7}))
    facts = EmbeddedPostgres(tmp_path / "pgdata").facts_without_password()
    assert facts.port == DEFAULT_PORT + 7
