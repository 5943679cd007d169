"""The one DbtProject of carehouse, and keeping its manifest current."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

from warehouse.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# Files whose change makes the parsed manifest stale.
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "snapshots", "analyses")

# dbt's files (parsed manifest, partial parse, logs) live under the carehouse home, never in the
# repository checkout; the same folder is DBT_TARGET_PATH for every dbt process carehouse starts.
carehouse_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=get_settings().dbt_target_dir)


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
