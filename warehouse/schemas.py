"""Schemas, roles and grants: created idempotently, safe to run on every start.

Layering is enforced by Postgres itself: analysts read ``gold``; chart reviewers read
``review`` and ``gold``; nobody but the pipeline reads ``bronze``, ``silver`` or ``snapshots``
(where PHI lives). Default privileges make tables created later by dbt readable too.
"""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql

from warehouse.connection import connect
from warehouse.keys import ensure_key_matches_warehouse
from warehouse.sample_rate import ensure_sample_rate_table
from warehouse.settings import Settings, get_settings

LAYER_SCHEMAS = ("bronze", "silver", "snapshots", "gold", "review")
PHI_SCHEMAS = ("bronze", "silver", "snapshots")

ANALYST_ROLE = "carehouse_analyst"
REVIEWER_ROLE = "carehouse_reviewer"

# role -> schemas it may read
READ_GRANTS: dict[str, tuple[str, ...]] = {
    ANALYST_ROLE: ("gold",),
    REVIEWER_ROLE: ("gold", "review"),
}


def _ensure_role(conn: psycopg.Connection, role: str) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    if not exists:
        # roles are cluster-wide: another database on the same server may create it concurrently
        with contextlib.suppress(psycopg.errors.DuplicateObject):
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))


def ensure_schemas_and_roles(settings: Settings | None = None) -> None:
    """Create the layer schemas and the read-only roles, grant what each role may read, and
    check that the configured gold key is the warehouse's own (``warehouse.keys``); create the
    sample-rate change log dbt reads (``warehouse.sample_rate``)."""
    settings = settings or get_settings()
    with connect(settings) as conn:
        for schema in LAYER_SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        ensure_key_matches_warehouse(conn, settings)
        ensure_sample_rate_table(conn)
        for role, schemas in READ_GRANTS.items():
            _ensure_role(conn, role)
            for schema in schemas:
                ident_schema, ident_role = sql.Identifier(schema), sql.Identifier(role)
                conn.execute(sql.SQL("grant usage on schema {} to {}").format(ident_schema, ident_role))
                conn.execute(
                    sql.SQL("grant select on all tables in schema {} to {}").format(ident_schema, ident_role)
                )
                conn.execute(
                    sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
                        ident_schema, ident_role
                    )
                )
        for schema in PHI_SCHEMAS:
            for role in READ_GRANTS:
                conn.execute(
                    sql.SQL("revoke all on schema {} from {}").format(
                        sql.Identifier(schema), sql.Identifier(role)
                    )
                )
