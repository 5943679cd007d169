"""Dagster's SQLite event log, with its databases kept open while ``carehouse run`` runs.

Creating a run of ``daily_pipeline`` writes one "planned" event per asset and asset check (~1,100,
most of them dbt tests), and the run writes as many again. Dagster's ``SqliteEventLogStorage``
opens a new engine and connection for every write, and closing a database's last connection
checkpoints its WAL: ~12 ms an event, 12 s before the first step of every run. Inside
:meth:`PooledSqliteEventLogStorage.connections_kept_open` this class keeps one engine and
connection per database (the index and the run's shard) and lets SQLite do what WAL mode is
for, ``synchronous=NORMAL``: a commit is consistent after any crash and durable after any
process crash; only a power loss can take back the newest events. On leaving it every
connection closes, so the WAL files are checkpointed and removed as Dagster leaves them.
Outside it (the UI, the daemon, the runs it launches, readers) it is Dagster's storage
unchanged. The files, tables and layout are Dagster's own (``$DAGSTER_HOME/history/runs``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from dagster import DagsterInstance, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


def event_log_dir(dagster_home: str | Path) -> Path:
    """Where Dagster's default SQLite storage keeps the event logs of a Dagster home."""
    return Path(dagster_home) / "history" / "runs"


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that can keep one engine and connection per database file.

    Configured with the Dagster home (``dagster_home: <path>``), as carehouse's dagster.yaml does.
    """

    def __init__(self, dagster_home: str, inst_data: ConfigurableClassData | None = None):
        # per database (the run's shard, the index) while a block keeps them open; None: Dagster's way
        self._engines: dict[str, Engine] | None = None
        super().__init__(str(event_log_dir(dagster_home)), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def connections_kept_open(self) -> Iterator[None]:
        """Reuse each database's connection until the block ends, then close them all."""
        with self._db_lock:
            self._engines = {}
        try:
            yield
        finally:
            with self._db_lock:
                engines, self._engines = self._engines or {}, None
                for engine in engines.values():
                    engine.dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        engines = self._engines
        if engines is None:
            with super()._connect(shard) as conn:
                yield conn
            return
        # Dagster's own lock: one thread at a time, so an engine is never disposed while in use
        with self._db_lock:
            engine = engines.get(shard) or self._open_engine(shard, engines)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _open_engine(self, shard: str, engines: dict[str, Engine]) -> Engine:
        engine = create_engine(
            self.conn_string_for_shard(shard),
            pool_size=1,
            max_overflow=2,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        event.listen(engine, "connect", _relaxed_sync)
        engines[shard] = engine
        return engine


def _relaxed_sync(dbapi_connection, _record) -> None:
    # the shard databases are in WAL mode (Dagster sets it when it creates them)
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def event_log_kept_open(instance: DagsterInstance) -> AbstractContextManager[None]:
    """Keep the instance's event-log connections open for a block (a run), if its storage can."""
    storage = instance.event_log_storage
    if isinstance(storage, PooledSqliteEventLogStorage):
        return storage.connections_kept_open()
    return nullcontext()
