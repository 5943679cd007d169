"""The embedded server runs with settings sized for warehouse work, from this machine's memory, on
every start; nothing is written into its pgdata."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from warehouse.embedded import EmbeddedPostgres
from warehouse.server_tuning import MB, embedded_server_settings

GB = 1024 * MB


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedPostgres]:
    # not under pytest's basetemp (see tests/integration/test_embedded_auth.py)
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="carehouse-tuning-")) / "pgdata")
    try:
        yield pg.ensure_running()
    finally:
        pg.stop()
        shutil.rmtree(pg.pgdata.parent)


def _show(dsn: str, names: list[str]) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return {name: str(conn.execute(f"show {name}").fetchone()[0]) for name in names}  # type: ignore[index]


def _normalized(value: str) -> str:
    """``show`` answers 2GB for 2048MB: compare both in MB."""
    for unit, factor in (("GB", 1024), ("MB", 1)):
        if value.endswith(unit) and value[: -len(unit)].isdigit():
            return f"{int(value[: -len(unit)]) * factor}MB"
    return value


def test_the_running_server_has_the_warehouse_settings(server: EmbeddedPostgres) -> None:
    expected = embedded_server_settings()
    shown = _show(server.dsn, list(expected))
    assert {name: _normalized(value) for name, value in shown.items()} == {
        name: _normalized(value) for name, value in expected.items()
    }
    # more than Postgres's defaults wherever it matters for a build or an analyst's query
    assert int(_normalized(shown["work_mem"])[:-2]) >= 16
    assert int(_normalized(shown["shared_buffers"])[:-2]) >= 128
    assert shown["wal_level"] == "minimal"
    # passed on the command line at start, never written into pgdata
    assert "work_mem" not in (server.pgdata / "postgresql.auto.conf").read_text()


def test_the_settings_follow_the_memory_within_caps() -> None:
    def sizes(memory: int) -> tuple[str, ...]:
        settings = embedded_server_settings(memory)
        return tuple(settings[name] for name in ("shared_buffers", "work_mem", "maintenance_work_mem"))

    assert sizes(1 * GB) == ("128MB", "16MB", "64MB")  # the floors
    assert sizes(16 * GB) == ("2048MB", "64MB", "256MB")
    assert sizes(512 * GB) == ("2048MB", "128MB", "512MB")  # the caps
    assert embedded_server_settings(512 * GB)["effective_cache_size"] == "16384MB"
