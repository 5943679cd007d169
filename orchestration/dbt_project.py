"""The one DbtProject of carehouse, and keeping its manifest current."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

from warehouse.settings import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# Files whose change makes the parsed manifest stale.
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "snapshots", "analyses")

# dbt's files (parsed manifest, partial parse, logs) live under the carehouse home, never in the
# repository checkout; the same folder is DBT_TARGET_PATH for every dbt process carehouse starts.
carehouse_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=get_settings().dbt_target_dir)


def dbt_process_env(settings: Settings) -> dict[str, str]:
    """Everything a dbt process carehouse starts needs beyond ``os.environ``: the connection and
    the gold key's session settings, and where its files go: this project's target folder under
    the carehouse home (dagster-dbt also copies partial_parse.msgpack from DBT_TARGET_PATH into
    each invocation's own folder), with a file log at info level (debug repeats every statement:
    megabytes per build)."""
    target = str(carehouse_dbt.project_dir / carehouse_dbt.target_path)
    return {
        **settings.dbt_env(),
        "DBT_TARGET_PATH": target,
        "DBT_LOG_PATH": target,
        "DBT_LOG_LEVEL_FILE": "info",
    }


def _newest_input_mtime() -> float:
    newest = 0.0
    roots = [DBT_PROJECT_DIR / name for name in _PROJECT_INPUTS] + [REPO_ROOT / "seeds"]
    for root in roots:
        paths = [root] if root.is_file() else root.rglob("*") if root.exists() else []
        for path in paths:
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than its sources.

    ``dbt parse`` needs no database connection (profiles.yml has defaults), so loading the
    Dagster definitions never starts the warehouse.
    """
    manifest = carehouse_dbt.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_input_mtime():
        _export_known_connection()
        carehouse_dbt.preparer.prepare(carehouse_dbt)
    return manifest


def _export_known_connection() -> None:
    """Parse with the connection the runs will use when it is known without starting anything:
    dbt's partial parsing starts over whenever the rendered profile differs."""
    from warehouse.embedded import EmbeddedPostgres

    settings = get_settings()
    if settings.uses_embedded_server and not EmbeddedPostgres(settings.pgdata_dir).status().running:
        return
    settings.export_dbt_env()
