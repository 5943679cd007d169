"""The one DbtProject of carehouse, the dbt it runs, and keeping its manifest current."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject
from filelock import FileLock

from warehouse.settings import ConnectionFacts, Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# Files whose change makes the parsed manifest stale.
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "snapshots", "analyses")
# A parse of the whole project takes seconds; a second process waits for the first one's manifest.
_PARSE_LOCK_TIMEOUT_S = 300

# dbt's files (parsed manifest, partial parse, logs) live under the carehouse home, never in the
# repository checkout; the same folder is DBT_TARGET_PATH for every dbt process carehouse starts.
carehouse_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=get_settings().dbt_target_dir)


def dbt_executable() -> str:
    """The dbt installed beside the running Python, so that ``.venv/bin/carehouse`` works without
    an activated virtualenv (PATH then lacks ``.venv/bin``); else whatever PATH has."""
    return shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt") or "dbt"


def dbt_files_env() -> dict[str, str]:
    """Where a dbt process carehouse starts puts its files: this project's target folder under the
    carehouse home (dagster-dbt also copies partial_parse.msgpack from DBT_TARGET_PATH into each
    invocation's own folder), with a file log at info level (debug repeats every statement:
    megabytes per build)."""
    target = str(carehouse_dbt.project_dir / carehouse_dbt.target_path)
    return {"DBT_TARGET_PATH": target, "DBT_LOG_PATH": target, "DBT_LOG_LEVEL_FILE": "info"}


def dbt_process_env(settings: Settings) -> dict[str, str]:
    """Everything a dbt process carehouse starts needs beyond ``os.environ``: the connection, the
    gold key's session settings and where its files go (starts the embedded server if needed)."""
    return {**settings.dbt_env(), **dbt_files_env()}


def dbt_project_args() -> list[str]:
    return ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]


def _newest_input_mtime() -> float:
    newest = 0.0
    roots = [DBT_PROJECT_DIR / name for name in _PROJECT_INPUTS] + [REPO_ROOT / "seeds"]
    for root in roots:
        paths = [root] if root.is_file() else root.rglob("*") if root.exists() else []
        for path in paths:
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def profile_fingerprint(facts: ConnectionFacts) -> str:
    """What dbt's partial parse keeps of the profile: the values of the adapter's connection keys
    (``ManifestStateCheck.profile_hash``: host, port, user, database, ...; not the password).
    A partial parse saved under other values is thrown away whole by every later dbt."""
    return json.dumps({"host": facts.host, "port": facts.port, "user": facts.user, "dbname": facts.dbname})


def _parsed_for(manifest: Path) -> Path:
    return manifest.with_name("parsed_for.json")


def _is_stale(manifest: Path, fingerprint: str) -> bool:
    if not manifest.exists() or manifest.stat().st_mtime < _newest_input_mtime():
        return True
    parsed_for = _parsed_for(manifest)
    return not parsed_for.exists() or parsed_for.read_text() != fingerprint


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing, older than its sources, or parsed
    for another connection.

    Runs at import of the Dagster definitions, so it must not need a running server nor the
    user's environment: ``dbt parse`` renders the profile but never connects, and gets the
    connection facts known without starting anything (the same ones runs use). Each dbt step
    starts from this parse's partial_parse.msgpack (dagster-dbt copies it into the step's own
    folder) and dbt discards it when the profile's connection differs: so after a DSN or port
    change it is parsed again here, once, instead of in full by every step from then on.
    """
    manifest = carehouse_dbt.manifest_path
    settings = get_settings()
    fingerprint = profile_fingerprint(settings.known_connection_facts())
    if not _is_stale(manifest, fingerprint):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(manifest.with_suffix(".parse-lock"), timeout=_PARSE_LOCK_TIMEOUT_S):
        if _is_stale(manifest, fingerprint):  # another process may have parsed while this one waited
            _parse(settings)
            _parsed_for(manifest).write_text(fingerprint)
    return manifest


def _parse(settings: Settings) -> None:
    env = {**os.environ, **settings.known_connection_facts().dbt_env(), **dbt_files_env()}
    command = [dbt_executable(), "parse", "--quiet", *dbt_project_args()]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise RuntimeError(f"dbt parse failed (exit {done.returncode}):\n{output}")
