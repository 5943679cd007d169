"""Opening connections to the warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from warehouse.settings import Settings, get_settings


@contextmanager
def connect(settings: Settings | None = None, *, autocommit: bool = True) -> Iterator[psycopg.Connection]:
    """A psycopg connection to the warehouse (starts the embedded server when needed)."""
    settings = settings or get_settings()
    with psycopg.connect(settings.dsn, autocommit=autocommit) as conn:
        yield conn


def row_version(conn: psycopg.Connection, schema: str, table: str) -> str:
    """The table's row count and newest row version (``xmin``): any insert, update, delete or
    rebuild since changes it, and reading it costs one scan without detoasting a column."""
    relation = sql.Identifier(schema, table)
    query = sql.SQL("select count(*), coalesce(max(xmin::text::bigint), 0) from {}").format(relation)
    count, newest = conn.execute(query).fetchone()
    return f"{count}:{newest}"


def table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (f'"{schema}"."{table}"',)).fetchone()
    return bool(row and row[0])
