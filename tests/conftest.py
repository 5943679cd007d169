"""Shared fixtures: a real Postgres for every test that needs one.

Without ``CAREHOUSE_DSN`` the tests start their own embedded server in a temporary
carehouse home (the same code path a new user gets). With ``CAREHOUSE_DSN`` set (CI's
second pass) they use that server, whose database CI creates fresh for the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from warehouse.settings import ENV_DSN, ENV_ENVIRONMENT, ENV_GOLD_KEY, ENV_HOME, ENV_TENANT, Settings

TEST_GOLD_KEY = "carehouse test warehouses"


@pytest.fixture(scope="session")
def carehouse_home() -> Iterator[Path]:
    """Not under pytest's temp root: as root, the embedded server runs as another OS user, and
    every new pytest session makes that root private again (a concurrent session would cut the
    server off from its data)."""
    home = Path(tempfile.mkdtemp(prefix="carehouse-tests-"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_settings(carehouse_home: Path) -> Iterator[Settings]:
    """Settings pointing at a real, empty warehouse; exported to the environment so that
    every layer (dlt, dbt, Dagster, GX) reads the same facts as a user's shell would."""
    patch = pytest.MonkeyPatch()
    patch.setenv(ENV_HOME, str(carehouse_home))
    # one gold key for every warehouse of the session, so that they can be compared row for row
    patch.setenv(ENV_GOLD_KEY, os.environ.get(ENV_GOLD_KEY) or TEST_GOLD_KEY)
    external = os.environ.get(ENV_DSN)
    if external:
        patch.setenv(ENV_DSN, external)
    settings = Settings.from_env()
    settings.dsn  # noqa: B018 - start the embedded server once, up front
    try:
        yield settings
    finally:
        patch.undo()
        if settings.uses_embedded_server:
            from warehouse.embedded import EmbeddedPostgres

            EmbeddedPostgres(settings.pgdata_dir).stop()


@contextmanager
def scratch_database(server: Settings, name: str, home: Path) -> Iterator[Settings]:
    """A fresh database ``name`` on the test server with its own carehouse home, dropped after."""
    import psycopg
    from psycopg import sql

    # suffixed with the process id: two test runs on one server (CI's two passes) never share one
    name = f"{name[:50]}_{os.getpid()}"

    admin = server.dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    base, _, _ = admin.rpartition("/")
    settings = Settings(
        home=home,
        external_dsn=f"{base}/{name}",
        tenant=server.tenant,
        environment=server.environment,
        # the session's gold key, as if one home had built them all
        configured_gold_key=server.configured_gold_key,
    )
    try:
        yield settings
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def scratch_warehouse(
    warehouse_settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    """A fresh database on the test server and its own carehouse home, dropped afterwards,
    for tests that must not share state with the end-to-end pipeline."""
    name = f"scratch_{request.node.name}".lower()[:50].replace("[", "_").replace("]", "_").replace("-", "_")
    with scratch_database(warehouse_settings, name, tmp_path / "home") as settings:
        yield settings


@pytest.fixture
def warehouse(scratch_warehouse: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The scratch warehouse as a run's steps, sensors and the daemon see it: through the
    environment."""
    settings = scratch_warehouse
    monkeypatch.setenv(ENV_HOME, str(settings.home))
    monkeypatch.setenv(ENV_DSN, settings.dsn)
    monkeypatch.setenv(ENV_TENANT, settings.tenant)
    monkeypatch.setenv(ENV_ENVIRONMENT, settings.environment)
    return settings
