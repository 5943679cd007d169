"""Which landing batches a loader may read: verified against their manifests, with the outcome
recorded in ``bronze.landing__batches``.

A loader describes the batch folders it reads as a :class:`LandingScope`. Before it loads, every
batch of its scope that still has files bronze does not hold (or that had a problem last time)
is verified (:func:`ingestion.landing.verify_batch`) and the outcome is upserted into the audit
table: one row per batch, changed only when the outcome changes, so running twice writes
nothing the second time. A failed batch is loaded by no one; a batch with stray files loads its
listed files only; files without a manifest are reported once the grace period has passed. The
Dagster asset ``bronze/landing__batches`` runs the same verification over every loader's scope,
and its blocking check fails while any problem is open; the run summary names the batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg import sql

from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.landing import LANDING_MANIFEST, BatchStatus, BatchVerification, read_manifest, verify_batch
from warehouse.connection import connect, table_exists
from warehouse.settings import Settings

AUDIT_TABLE = "landing__batches"
PROBLEM_STATUSES = tuple(status.value for status in BatchStatus if status.is_problem)
REMOVED = "removed"  # a batch that was audited and is no longer in the landing zone

# (column, Postgres type and constraints): the table's DDL, and its column schema in Dagster
AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("batch_path", "text primary key"),
    ("tenant", "text not null"),
    ("environment", "text not null"),
    ("source_system", "text not null"),
    ("entity", "text not null"),
    ("batch_id", "text not null"),
    ("loader", "text not null"),
    ("status", "text not null"),
    ("problems", "text"),
    ("problem_count", "integer not null"),
    ("files", "integer not null"),
    ("lines", "bigint not null"),
    ("manifest_sha256", "text"),
    ("first_checked_at", "timestamptz not null"),
    ("checked_at", "timestamptz not null"),
)
_COLUMNS_DDL = ", ".join(f"{name} {definition}" for name, definition in AUDIT_COLUMNS)
AUDIT_COMMENTS = {
    "": "One row per landing batch a loader looked at: its verification against manifest.json.",
    "batch_path": "tenant/env/system/entity/batch folder, relative to the landing root",
    "status": "verified | stray_files (listed files loaded, others not) | failed (nothing loaded)"
    " | no_manifest (files without a manifest past the grace period) | removed (gone from landing)",
    "problems": "what differs from the manifest, '; '-separated: file names and counts only",
    "lines": "lines of the listed data files, as the manifest says",
    "checked_at": "when the batch last changed status or problems",
}


@dataclass(frozen=True)
class LandingScope:
    """The batch folders one loader reads and which of their files it loads."""

    loader: str  # ehr | adt | feeds
    folders: tuple[Path, ...]
    accepts: Callable[[Path], bool]


@dataclass(frozen=True)
class BatchProblem:
    batch_path: str
    status: str
    problems: str


def batch_folders(base: Path, pattern: str) -> tuple[Path, ...]:
    """Sorted folders under ``base`` matching a glob like ``*/encounter/*`` (batch folders)."""
    return tuple(sorted(path for path in base.glob(pattern) if path.is_dir())) if base.is_dir() else ()


def ensure_audit_table(settings: Settings) -> None:
    schema, table = sql.Identifier(BRONZE_SCHEMA), sql.Identifier(AUDIT_TABLE)
    with connect(settings) as conn:
        if table_exists(conn, BRONZE_SCHEMA, AUDIT_TABLE):
            return
        conn.execute(sql.SQL("create table if not exists {}.{} (" + _COLUMNS_DDL + ")").format(schema, table))
        for column, text in AUDIT_COMMENTS.items():
            target = sql.SQL("table {}.{}").format(schema, table)
            if column:
                target = sql.SQL("column {}.{}.{}").format(schema, table, sql.Identifier(column))
            conn.execute(sql.SQL("comment on {} is {}").format(target, sql.Literal(text)))


def _open_problems(settings: Settings, loader: str | None = None) -> dict[str, BatchProblem]:
    query = sql.SQL(
        "select batch_path, status, coalesce(problems, '') from {}.{} where status = any(%s)"
    ).format(sql.Identifier(BRONZE_SCHEMA), sql.Identifier(AUDIT_TABLE))
    params: tuple = (list(PROBLEM_STATUSES),)
    if loader is not None:
        query += sql.SQL(" and loader = %s")
        params += (loader,)
    with connect(settings) as conn:
        if not table_exists(conn, BRONZE_SCHEMA, AUDIT_TABLE):
            return {}
        return {row[0]: BatchProblem(*row) for row in conn.execute(query + sql.SQL(" order by 1"), params)}


def open_problems(settings: Settings) -> list[BatchProblem]:
    """Batches whose last verification found a problem, in path order (for checks and summaries)."""
    return list(_open_problems(settings).values())


def _relative(path: Path, landing_root: Path) -> str:
    return path.relative_to(landing_root).as_posix()


def _needs_verification(folder: Path, landing_root: Path, loaded: set[str], reported: set[str]) -> bool:
    """A batch is checked while bronze lacks one of its listed files or its last check found a problem."""
    if _relative(folder, landing_root) in reported or not (folder / LANDING_MANIFEST).is_file():
        return True
    try:
        listed = read_manifest(folder).get("files") or {}
    except ValueError:
        return True
    if not isinstance(listed, dict):
        return True
    return any(_relative(folder / name, landing_root) not in loaded for name in listed)


def _record(settings: Settings, loader: str, outcomes: Sequence[BatchVerification]) -> None:
    landing_root, now = settings.landing_dir, datetime.now(UTC)
    rows = []
    for outcome in outcomes:
        if outcome.status is BatchStatus.PENDING:
            continue
        path = _relative(outcome.folder, landing_root)
        # {tenant}/{env}/{system}/{entity}/{batch}; a feed may point at a shallower folder
        tenant, environment, *middle = path.split("/")
        system, entity = [*middle[:-1], "", ""][:2]
        batch_id = outcome.folder.name
        rows.append(
            (
                path, tenant, environment, system, entity, batch_id, loader, outcome.status.value,
                "; ".join(outcome.problems) or None, len(outcome.problems), len(outcome.data_files),
                outcome.lines, outcome.manifest_sha256, now, now,
            )
        )  # fmt: skip
    if not rows:
        return
    upsert = sql.SQL(
        "insert into {t} values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (batch_path) do update set status = excluded.status, problems = excluded.problems,"
        " problem_count = excluded.problem_count, files = excluded.files, lines = excluded.lines,"
        " manifest_sha256 = excluded.manifest_sha256, loader = excluded.loader,"
        " checked_at = excluded.checked_at"
        " where ({t}.status, {t}.problems, {t}.manifest_sha256, {t}.loader)"
        " is distinct from (excluded.status, excluded.problems, excluded.manifest_sha256, excluded.loader)"
    ).format(t=sql.SQL("{}.{}").format(sql.Identifier(BRONZE_SCHEMA), sql.Identifier(AUDIT_TABLE)))
    with connect(settings, autocommit=False) as conn:
        with conn.cursor() as cursor:
            cursor.executemany(upsert, rows)
        conn.commit()


def verify_scope(settings: Settings, scope: LandingScope, loaded: set[str]) -> list[BatchVerification]:
    """Verify the batches of ``scope`` that need it (``loaded``: source files bronze holds) and
    record the outcomes; returns them, oldest batch first."""
    ensure_audit_table(settings)
    landing_root = settings.landing_dir
    reported = set(_open_problems(settings, scope.loader))
    grace = timedelta(minutes=settings.landing_grace_minutes)
    outcomes = [
        verify_batch(folder, grace, scope.accepts)
        for folder in scope.folders
        if _needs_verification(folder, landing_root, loaded, reported)
    ]
    _record(settings, scope.loader, outcomes)
    return outcomes


def loadable_files(outcomes: Iterable[BatchVerification], landing_root: Path, loaded: set[str]) -> list[Path]:
    """The verified data files bronze does not hold yet, in batch order."""
    return [
        path
        for outcome in outcomes
        if outcome.status.loadable
        for path in outcome.data_files
        if _relative(path, landing_root) not in loaded
    ]


def mark_removed(settings: Settings, present: Iterable[Path]) -> None:
    """Audited batches that are no longer in the landing zone stop counting as open problems."""
    paths = [_relative(folder, settings.landing_dir) for folder in present]
    with connect(settings) as conn:
        conn.execute(
            sql.SQL(
                "update {}.{} set status = %s, checked_at = now() where status <> %s"
                " and tenant = %s and environment = %s and not batch_path = any(%s)"
            ).format(sql.Identifier(BRONZE_SCHEMA), sql.Identifier(AUDIT_TABLE)),
            (REMOVED, REMOVED, settings.tenant, settings.environment, paths),
        )
