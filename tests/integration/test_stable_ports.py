"""The embedded server keeps its port across stop and start (saved DSNs keep working) and says when
it must move; `carehouse ui` on a busy port is one line and starts nothing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from warehouse.embedded import HOST, EmbeddedPostgres
from warehouse.settings import ENV_DSN, ENV_HOME


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    # not under pytest's basetemp (see test_embedded_auth: the server runs as another user as root)
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="carehouse-port-")) / "pgdata")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.pgdata.parent, ignore_errors=True)


def _listening(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the server's closed sockets linger
    sock.bind((HOST, port))
    sock.listen()
    return sock


def _answers(dsn: str) -> bool:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return conn.execute("select 1").fetchone() == (1,)


def test_the_port_survives_stop_and_start(pg: EmbeddedPostgres) -> None:
    dsn = pg.ensure_running().dsn
    port = pg.status().port
    assert pg.stop()
    assert not pg.status().running
    pg.ensure_running()
    assert pg.status().port == port
    assert _answers(dsn)  # the DSN a client saved before the restart


def test_a_taken_port_moves_the_server_and_says_so(
    pg: EmbeddedPostgres, capfd: pytest.CaptureFixture[str]
) -> None:
    pg.ensure_running()
    old = pg.status().port
    assert old is not None
    pg.stop()
    capfd.readouterr()
    with _listening(old):  # another program took the port while the server was down
        pg.ensure_running()
        new = pg.status().port
        assert new not in (None, old)
        err = capfd.readouterr().err
        assert f"port {old} is taken" in err and f"listening on {new}" in err
        assert _answers(pg.dsn)
    pg.stop()
    pg.ensure_running()  # the old port is free again, but the new one is remembered now
    assert pg.status().port == new
    assert "is taken" not in capfd.readouterr().err


def test_ui_on_a_busy_port_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items() if key != ENV_DSN}
    env[ENV_HOME] = str(home)
    with _listening(0) as sock:
        port = sock.getsockname()[1]
        # its own session: were the check missing, `dagster dev` and its daemon die with the test
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "ui", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert process.returncode == 2
    assert output.strip() == (
        f"error: 127.0.0.1:{port} is in use (is `carehouse ui` already running?); choose another with --port"
    )
    assert not home.exists()  # no Dagster home, no embedded server
