"""The warehouse's one-writer lock: a Postgres advisory lock held by a dedicated session.

Every step that writes the warehouse (a bronze load, a dbt build, the simulators that feed
the landing zone, a whole ``carehouse run``) holds it, so two writers never interleave: a
second ``carehouse run``, a cron job beside the Dagster schedule or the ADT sensor beside the
daily job waits for the first (saying who holds the lock) instead of loading the same files
twice. The lock lives in the warehouse itself, so it also holds across machines that share one
``CAREHOUSE_DSN``, and Postgres frees it when its session ends: a killed writer never leaves
a stale lock behind.

The lock is re-entrant within a process (``carehouse run`` holds it, and the Dagster steps
it executes in-process take it again without waiting for themselves).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from warehouse.settings import Settings

# (classid, objid) of the advisory lock; advisory locks are per database, so this is one lock
# per warehouse. The class id spells "care" so it is recognisable in pg_locks.
LOCK_CLASS_ID = 0x63617265
LOCK_OBJECT_ID = 1
APPLICATION_PREFIX = "carehouse writer: "
_POLL_SECONDS = 1.0
_REMIND_SECONDS = 60.0


class WarehouseBusyError(RuntimeError):
    """Another writer holds the warehouse lock and this one was told not to wait (longer)."""


@dataclass
class _Held:
    connection: psycopg.Connection
    depth: int


_held: dict[str, _Held] = {}  # dsn -> the session holding the lock in this process
_guard = threading.Lock()


def lock_holder(conn: psycopg.Connection) -> str | None:
    """Who holds the writer lock (the holder's application name and since when), or None."""
    row = conn.execute(
        "select a.application_name, a.backend_start from pg_locks l"
        " join pg_stat_activity a on a.pid = l.pid"
        " where l.locktype = 'advisory' and l.granted and l.classid = %s and l.objid = %s"
        " and l.objsubid = 2"
        " and l.database = (select oid from pg_database where datname = current_database())",
        (LOCK_CLASS_ID, LOCK_OBJECT_ID),
    ).fetchone()
    if row is None:
        return None
    name, since = row
    who = name.removeprefix(APPLICATION_PREFIX) if name else "another session"
    return f"{who} (since {since:%Y-%m-%d %H:%M:%S %Z})"


def _application_name(purpose: str) -> str:
    # Postgres keeps 63 bytes of it; it is what a waiting writer is told, so no data, just a name.
    return f"{APPLICATION_PREFIX}{purpose} (pid {os.getpid()} on {socket.gethostname()})"[:63]


def _try_lock(conn: psycopg.Connection) -> bool:
    row = conn.execute("select pg_try_advisory_lock(%s, %s)", (LOCK_CLASS_ID, LOCK_OBJECT_ID)).fetchone()
    return bool(row and row[0])


def _acquire(
    settings: Settings, purpose: str, timeout_s: float | None, on_wait: Callable[[str], None] | None
) -> psycopg.Connection:
    conn = psycopg.connect(settings.dsn, autocommit=True, application_name=_application_name(purpose))
    try:
        started = time.monotonic()
        reminded = started
        first = True
        while not _try_lock(conn):
            holder = lock_holder(conn) or "another writer"
            waited = time.monotonic() - started
            if timeout_s is not None and waited >= timeout_s:
                raise WarehouseBusyError(
                    f"the warehouse is busy: {holder} holds the writer lock"
                    + (f" (waited {waited:.0f} s)" if timeout_s else "")
                )
            if on_wait is not None and (first or time.monotonic() - reminded >= _REMIND_SECONDS):
                on_wait(f"waiting for the warehouse: {holder} holds the writer lock")
                reminded, first = time.monotonic(), False
            time.sleep(_POLL_SECONDS)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def writer_lock(
    settings: Settings,
    purpose: str,
    *,
    on_wait: Callable[[str], None] | None = None,
    timeout_s: float | None = None,
) -> Iterator[None]:
    """Hold the warehouse's writer lock for the ``with`` block.

    ``purpose`` names the writer for anyone who has to wait (e.g. ``"load ehr"``). A busy lock
    is waited for, ``on_wait`` getting a message now and then, for ``timeout_s`` seconds
    (default: ``settings.lock_timeout_s``; None waits as long as it takes, 0 not at all), then
    :class:`WarehouseBusyError` is raised.
    """
    key = settings.dsn
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.depth += 1
    if held is None:
        wait = settings.lock_timeout_s if timeout_s is None else timeout_s
        connection = _acquire(settings, purpose, wait, on_wait)
        with _guard:
            held = _held[key] = _Held(connection, 1)
    try:
        yield
    finally:
        with _guard:
            held.depth -= 1
            release = held.depth == 0
            if release:
                del _held[key]
        if release:
            # closing the session frees the lock even if the unlock call cannot be sent
            try:
                held.connection.execute("select pg_advisory_unlock(%s, %s)", (LOCK_CLASS_ID, LOCK_OBJECT_ID))
            except psycopg.Error:
                pass
            finally:
                held.connection.close()
