"""Dagster's SQLite event log with the connections kept open, the event log of every carehouse home.

Creating a run of ``daily_pipeline`` writes one "planned" event per asset and asset check (~1,100,
most of them dbt tests), and the run writes as many again. Dagster's ``SqliteEventLogStorage``
opens a new engine and connection for every write, and closing a database's last connection
checkpoints its WAL: ~12 ms an event, 12 s before the first step of every run. This class keeps
one engine per database (the index and the newest run shards) and lets SQLite do what WAL mode
is for, ``synchronous=NORMAL``: a commit is consistent after any crash and durable after any
process crash; only a power loss can take back the newest events. The files, tables and layout
are Dagster's own (``$DAGSTER_HOME/history/runs``), so a home written before reads the same.
"""

from __future__ import annotations

import atexit
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

# a run writes to its own shard and the index; the webserver follows a few runs at once
OPEN_DATABASES = 8


def event_log_dir(dagster_home: str | Path) -> Path:
    """Where Dagster's default SQLite storage keeps the event logs of a Dagster home."""
    return Path(dagster_home) / "history" / "runs"


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that reuses one engine and connection per database file.

    Configured with the Dagster home (``dagster_home: {env: DAGSTER_HOME}`` in dagster.yaml).
    """

    def __init__(self, dagster_home: str, inst_data: ConfigurableClassData | None = None):
        self._dagster_home = dagster_home
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(str(event_log_dir(dagster_home)), inst_data=inst_data)
        # an instance is seldom disposed; closing at exit checkpoints and removes the WAL files
        atexit.register(self.close_connections)

    @classmethod
    def config_type(cls) -> dict:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's own lock: one thread at a time, so an engine is never disposed while in use
        with self._db_lock:
            engine = self._engine_for(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine_for(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            pool_size=1,
            max_overflow=2,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        event.listen(engine, "connect", _relaxed_sync)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_DATABASES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def close_connections(self) -> None:
        """Close every open database (their WAL files are checkpointed and removed)."""
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        with self._db_lock:  # the run's file may be deleted next: close it now
            engine = self._engines.pop(run_id, None)
            if engine is not None:
                engine.dispose()

    def wipe(self) -> None:
        self.close_connections()
        super().wipe()

    def dispose(self) -> None:
        self.close_connections()
        super().dispose()


def _relaxed_sync(dbapi_connection, _record) -> None:
    # the shard databases are in WAL mode (Dagster sets it when it creates them)
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
