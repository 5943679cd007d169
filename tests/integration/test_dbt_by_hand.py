"""dbt by hand reaches the warehouse carehouse uses or says how to, and carehouse finds dbt beside
its own Python when the virtualenv is not activated (PATH without its bin folder)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from orchestration.dbt_project import DBT_PROJECT_DIR, dbt_executable, dbt_project_args
from warehouse.settings import DBT_ENV_PREFIX, ENV_DSN, ENV_HOME, Settings

VENV_BIN = Path(sys.executable).parent
# the system's folders only: neither dbt nor dagster is there
BARE_PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p) != VENV_BIN)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any dbt connection variable, PATH without the venv,
    and dbt's files (logs, target) in tmp_path rather than the repository checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(DBT_ENV_PREFIX) and key not in ("PGOPTIONS", ENV_DSN, ENV_HOME)
    }
    env.update(PATH=BARE_PATH, DBT_LOG_PATH=str(tmp_path / "logs"), DBT_TARGET_PATH=str(tmp_path / "target"))
    env.update(extra)
    return env


def _dbt_debug() -> list[str]:
    return [dbt_executable(), "debug", *dbt_project_args()]


def test_the_bare_path_lacks_dbt() -> None:
    import shutil

    assert shutil.which("dbt", path=BARE_PATH) is None
    assert Path(dbt_executable()).parent == VENV_BIN


def test_dbt_by_hand_without_the_environment_says_how_to_get_it(tmp_path: Path) -> None:
    done = subprocess.run(_dbt_debug(), env=_env(tmp_path), capture_output=True, text=True, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Env var required but not provided: 'CAREHOUSE_PGHOST" in output
    assert 'eval "$(carehouse db env)"' in output and "carehouse dbt" in output


def test_dbt_by_hand_after_db_env_reaches_the_warehouse(scratch_warehouse: Settings, tmp_path: Path) -> None:
    env = _env(
        tmp_path, **{ENV_DSN: str(scratch_warehouse.external_dsn), ENV_HOME: str(scratch_warehouse.home)}
    )
    exports = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "db", "env"], env=env, capture_output=True, text=True
    )
    assert exports.returncode == 0, exports.stderr
    lines = exports.stdout.splitlines()
    assert all(line.startswith("export ") for line in lines)
    names = {line.removeprefix("export ").partition("=")[0] for line in lines}
    assert {f"{DBT_ENV_PREFIX}{part}" for part in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE")} <= names
    # exactly what a user types: eval, then plain dbt from the repository root
    script = 'eval "$1"; exec "$2" debug --profiles-dir dbt_project --project-dir dbt_project'
    done = subprocess.run(
        ["bash", "-c", script, "bash", exports.stdout, dbt_executable()],
        env=env,
        capture_output=True,
        text=True,
        cwd=DBT_PROJECT_DIR.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    assert "Connection test: [OK connection ok]" in output
    # the scratch database, not a default: dbt debug prints the rendered profile
    assert re.search(rf"database: {scratch_warehouse.connection_facts.dbname}$", output, re.M), output


def test_carehouse_dbt_runs_without_the_venv_on_path(scratch_warehouse: Settings, tmp_path: Path) -> None:
    env = _env(
        tmp_path, **{ENV_DSN: str(scratch_warehouse.external_dsn), ENV_HOME: str(scratch_warehouse.home)}
    )
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "dbt", "debug"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed" in done.stdout


def test_dagster_definitions_load_without_the_venv_on_path_or_a_server(tmp_path: Path) -> None:
    """A fresh home: no manifest (so ``dbt parse`` runs at import), no embedded server running,
    no connection variables, no dbt on PATH; the dbt resource then runs the venv's dbt."""
    script = (
        "from orchestration.definitions import defs\n"
        "from warehouse.embedded import EmbeddedPostgres\n"
        "from warehouse.settings import get_settings\n"
        "assert not EmbeddedPostgres(get_settings().pgdata_dir).status().running\n"
        "print(defs.resources['dbt'].dbt_executable)\n"
    )
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(tmp_path, **{ENV_HOME: str(home)}),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == VENV_BIN / "dbt"
    assert (home / "dbt" / "target" / "manifest.json").exists()
    assert not (home / "pgdata").exists()
