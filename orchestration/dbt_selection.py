"""Skip what did not change: which dbt nodes a build step must rebuild, from what bronze got.

Each dbt step (``dbt_silver``, ``dbt_snapshots``, ``dbt_gold``; the ``adt_flow`` job runs subsets
of the same steps) records, after a successful build, per source the watermark it consumed:

- a dlt table: the newest COMPLETED bronze load (``bronze._dlt_loads.status = 0``) at build time.
  A crashed load's rows are deleted by the next load, so only completed load ids count; load
  ids are compared as numbers (text of a unix timestamp), never as text;
- a table dlt does not write (the sample-rate change log, the landing audit...): its row count
  and newest row version (``xmin``), so an insert, update or delete all show;
- ``clock:today``, the server's date, for the models that read the wall clock (see
  :data:`CLOCK_PATTERN`);
- ``dbt:project``, a digest of the parsed dbt project (SQL, configs, seeds' checksums, macros,
  ``dbt_project.yml`` with its vars).

The next build of the step rebuilds only the nodes downstream of sources with rows newer than
their watermark, and nothing when no source changed. A changed project (digest), or a node of
the step whose relation is missing, forces the whole selection: new SQL or seeds must rebuild
everything they touch, and a dropped schema must come back.

A build of new data tests only the new rows: its row-level tests read rows of loads newer than
the oldest watermark of a changed source (``BuildPlan.tests_after_load_id``, handed to dbt as
``CAREHOUSE_TESTS_AFTER_LOAD_ID``, see ``dbt_project/macros/testing/new_rows_only.sql``). A
forced build, and the weekly full check (run tag :data:`FULL_CHECK_TAG`), test every row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import psycopg
from dagster import AssetExecutionContext, AssetKey, MaterializeResult
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from psycopg import sql

from orchestration.dbt_project import DBT_PROJECT_DIR
from warehouse.connection import row_version
from warehouse.settings import Settings

STATE_SCHEMA = "bronze"  # beside the pipeline's other bookkeeping (load attempts, sample rate)
STATE_TABLE = "carehouse__dbt_builds"
_STATE = sql.Identifier(STATE_SCHEMA, STATE_TABLE)
LOADS_TABLE = sql.Identifier("bronze", "_dlt_loads")
PROJECT_SOURCE = "dbt:project"
CLOCK_SOURCE = "clock:today"
# Models whose rows depend on the wall clock, not only on their inputs (today:
# stg_ehr__patients flags birth dates after the current date). They and their downstream
# rebuild when the date changed since the step last built them. Models reading warehouse
# settings read them as dbt sources (the chart-review sample rate: bronze.carehouse__sample_rate_
# changes, via macros/sampling/sample_rate_in_force.sql), so a changed rate is a changed source.
# Seeds, dbt vars and the SQL itself change only with the project: the digest forces everything.
# Not forced: silver.dq_test_results (no source; written by the on-run-end hook of every build
# that runs tests) and what reads it, gold.mart_data_quality_metrics: that mart keeps one set of
# rows per data state (the newest bronze load), so a build on unchanged data has nothing to add.
CLOCK_PATTERN = re.compile(r"current_timestamp|current_date|\bnow\s*\(|run_started_at", re.IGNORECASE)
SMALL_TABLE_ROWS = 1000  # a dlt table this small is compared by content (see source_watermark)
BUILT_TYPES = frozenset({"model", "seed", "snapshot"})
# A run with this tag set to "true" builds every node of each dbt step and tests every row: the
# scheduled full check (orchestration.jobs), or `carehouse run --full-check`.
FULL_CHECK_TAG = "carehouse/full_check"
TESTS_AFTER_ENV = "CAREHOUSE_TESTS_AFTER_LOAD_ID"

T = TypeVar("T")


@dataclass(frozen=True)
class BuildPlan:
    """What one dbt step builds: ``exclude`` (dbt selectors) left out of the step's selection,
    or nothing at all (``skip``); ``record`` are the watermarks to store once the build succeeded."""

    step: str
    skip: bool
    exclude: tuple[str, ...]
    reason: str
    record: Mapping[str, str] = field(default_factory=dict)
    unchanged: tuple[AssetKey, ...] = ()  # selected assets left as they are
    # row-level tests read rows of loads newer than this one; None: every row
    tests_after_load_id: str | None = None

    @property
    def summary(self) -> str:
        built = "nothing to build" if self.skip else f"{len(self.exclude)} unchanged nodes left out"
        return f"{self.reason}: {built}"

    def unchanged_results(self) -> Iterator[MaterializeResult]:
        """A result for each selected asset left as it is. Dagster skips every step downstream
        of an asset output that was not yielded (``AssetSpec.skippable``), so a gold step would
        never run after a silver step that rebuilt only part of silver: an unchanged model is
        reported up to date (``carehouse/rebuilt: false``, no row count) instead."""
        for key in self.unchanged:
            yield MaterializeResult(
                asset_key=key, metadata={"carehouse/rebuilt": False, "carehouse/reason": self.reason}
            )

    @property
    def exclude_args(self) -> list[str]:
        return ["--exclude", " ".join(self.exclude)] if self.exclude else []

    @property
    def test_scope(self) -> str:
        after = self.tests_after_load_id
        return (
            "row-level tests read every row" if after is None else f"row-level tests read loads after {after}"
        )


def ensure_state_table(conn: psycopg.Connection) -> None:
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            " step text not null, source text not null, watermark text not null,"
            " built_at timestamptz not null default now(), primary key (step, source))"
        ).format(_STATE)
    )


def recorded_watermarks(conn: psycopg.Connection, step: str) -> dict[str, str]:
    rows = conn.execute(sql.SQL("select source, watermark from {} where step = %s").format(_STATE), (step,))
    return dict(rows.fetchall())


def record_build(conn: psycopg.Connection, plan: BuildPlan) -> None:
    """Store the watermarks a successful build consumed."""
    if not plan.record:
        return
    with conn.transaction():
        conn.cursor().executemany(
            sql.SQL(
                "insert into {} (step, source, watermark) values (%s, %s, %s) on conflict (step, source)"
                " do update set watermark = excluded.watermark, built_at = now()"
            ).format(_STATE),
            [(plan.step, source, mark) for source, mark in sorted(plan.record.items())],
        )


def project_digest(manifest: Mapping[str, Any]) -> str:
    """A digest of what the project builds, stable across parses (unlike the manifest file,
    which carries its generation time): nodes' checksums, configs and dependencies, sources,
    macros, and ``dbt_project.yml`` (its vars)."""
    digest = hashlib.sha256((DBT_PROJECT_DIR / "dbt_project.yml").read_bytes())
    for uid, node in sorted(manifest["nodes"].items()):
        stable = [uid, node.get("checksum"), node.get("config"), node.get("depends_on")]
        digest.update(json.dumps(stable, sort_keys=True, default=str).encode())
    for uid, source in sorted(manifest["sources"].items()):
        digest.update(json.dumps([uid, source.get("relation_name")], default=str).encode())
    for uid, macro in sorted(manifest["macros"].items()):
        if macro.get("package_name") == manifest["metadata"].get("project_name"):
            digest.update(f"{uid}\n{macro.get('macro_sql')}".encode())
    return digest.hexdigest()


def descendants(manifest: Mapping[str, Any], roots: Iterable[str]) -> set[str]:
    """The built nodes (models, seeds, snapshots) downstream of ``roots``, roots included."""
    children = manifest["child_map"]
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen.add(uid)
        stack.extend(children.get(uid, ()))
    return {uid for uid in seen if uid.split(".", 1)[0] in BUILT_TYPES}


def clock_models(manifest: Mapping[str, Any]) -> set[str]:
    return {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and CLOCK_PATTERN.search(node.get("raw_code") or "")
    }


def _columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema, table),
    )
    return {name for (name,) in rows}


def completed_loads(conn: psycopg.Connection) -> list[str]:
    """Ids of the completed bronze loads, oldest first (numerically: they are unix timestamps
    with a fraction, as text)."""
    if not _columns(conn, "bronze", "_dlt_loads"):
        return []
    rows = conn.execute(
        sql.SQL("select load_id from {} where status = 0 order by load_id::numeric").format(LOADS_TABLE)
    )
    return [load_id for (load_id,) in rows]


def _as_number(load_id: str | None) -> Decimal:
    try:
        return Decimal(load_id) if load_id else Decimal(-1)
    except InvalidOperation:
        return Decimal(-1)


def source_watermark(
    conn: psycopg.Connection, schema: str, table: str, recorded: str | None, loads: list[str]
) -> str:
    """The watermark of one source table now: for a dlt table the newest completed load when
    the table holds rows of a completed load newer than ``recorded`` (else ``recorded``: it is
    unchanged, and a run with no new load reads no table at all); for any other table its
    row count and newest row version."""
    columns = _columns(conn, schema, table)
    relation = sql.Identifier(schema, table)
    if not columns:
        return "missing"
    if "_dlt_load_id" in columns:
        floor = _as_number(recorded)
        newer = [load_id for load_id in loads if _as_number(load_id) > floor]
        if not newer:
            return recorded if recorded is not None else "0"
        # the expression of bronze's load-id index (ingestion.bronze_loads): an index lookup
        query = sql.SQL("select 1 from {} where cast(_dlt_load_id as numeric) = any(%s::numeric[]) limit 1")
        if not conn.execute(query.format(relation), (newer,)).fetchone():
            return recorded or "0"
        small = sql.SQL("select count(*) from (select 1 from {} limit %s) as rows").format(relation)
        if conn.execute(small, (SMALL_TABLE_ROWS + 1,)).fetchone()[0] <= SMALL_TABLE_ROWS:
            # a small table every load rewrites (the EHR registry, bronze.ehr__systems): its
            # content, not its load id, says whether it changed
            return _content_digest(conn, relation, columns)
        return loads[-1]
    return row_version(conn, schema, table)


def _content_digest(conn: psycopg.Connection, relation: sql.Identifier, columns: set[str]) -> str:
    kept = sorted(name for name in columns if not name.startswith("_dlt") and name != "ingested_at")
    row = sql.SQL("md5(row({})::text)").format(sql.SQL(", ").join(map(sql.Identifier, kept)))
    query = sql.SQL("select md5(coalesce(string_agg({row}, ',' order by {row}), '')) from {t}").format(
        row=row, t=relation
    )
    return "content:" + str(conn.execute(query).fetchone()[0])


def _missing_relations(conn: psycopg.Connection, manifest: Mapping[str, Any], uids: Iterable[str]) -> bool:
    wanted = set()
    for uid in uids:
        node = manifest["nodes"][uid]
        if node.get("config", {}).get("materialized") == "ephemeral":
            continue
        wanted.add((node["schema"], node.get("alias") or node["name"]))
    schemas = sorted({schema for schema, _ in wanted})
    rows = conn.execute(
        "select table_schema, table_name from information_schema.tables where table_schema = any(%s)",
        (schemas,),
    )
    return bool(wanted - set(rows.fetchall()))


def _selector(manifest: Mapping[str, Any], uid: str) -> str:
    return "fqn:" + ".".join(manifest["nodes"][uid]["fqn"])


def plan_build(
    settings: Settings,
    manifest: Mapping[str, Any],
    step: str,
    step_nodes: set[str],
    selected: set[str],
    full_check: bool = False,
) -> BuildPlan:
    """The build of ``selected`` (the nodes of ``step`` the run asked for) that brings them up
    to date with bronze: everything when the project changed, a relation is missing or the run
    is a ``full_check``, else only what is downstream of a changed source."""
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        ensure_state_table(conn)
        recorded = recorded_watermarks(conn, step)
        loads = completed_loads(conn)
        now: dict[str, str] = {PROJECT_SOURCE: project_digest(manifest)}
        now[CLOCK_SOURCE] = str(conn.execute("select current_date").fetchone()[0])
        for uid, source in manifest["sources"].items():
            now[uid] = source_watermark(
                conn, source["schema"], source["identifier"], recorded.get(uid), loads
            )
        missing = _missing_relations(conn, manifest, step_nodes)

    roots = {uid: [uid] for uid in manifest["sources"]}
    roots[CLOCK_SOURCE] = sorted(clock_models(manifest))
    downstream = {source: descendants(manifest, uids) & step_nodes for source, uids in roots.items()}
    if recorded.get(PROJECT_SOURCE) != now[PROJECT_SOURCE] or missing or full_check:
        reason = (
            "a relation of the step is missing" if missing
            else "the dbt project changed" if recorded.get(PROJECT_SOURCE) != now[PROJECT_SOURCE]
            else "the scheduled full check"
        )  # fmt: skip
        return _plan(step, step_nodes, selected, set(selected), now, downstream, reason, manifest)
    changed = sorted(source for source in roots if recorded.get(source) != now[source])
    needed = set().union(*(downstream[source] for source in changed)) & selected
    names = [manifest["sources"][s]["identifier"] if s in manifest["sources"] else s for s in changed]
    reason = f"new data in {', '.join(names)}" if changed else "no source changed"
    plan = _plan(step, step_nodes, selected, needed, now, downstream, reason, manifest)
    return replace(plan, tests_after_load_id=oldest_load_watermark(changed, recorded, loads))


def oldest_load_watermark(
    changed: Iterable[str], recorded: Mapping[str, str], loads: list[str]
) -> str | None:
    """The load after which a build's new rows lie: the oldest recorded watermark of the changed
    sources that are dlt tables (a load id), or None (test every row) when one of them was never
    built. Other changed sources (a small table compared by content, a table dlt does not write,
    the clock) bring no rows with a load id of their own. Load ids only grow, so rows newer than
    the oldest watermark include every new row of every changed source."""
    known = set(loads)
    marks = []
    for source in changed:
        if not source.startswith("source."):
            continue
        mark = recorded.get(source)
        if mark is None or mark == "0":
            return None
        if mark in known:
            marks.append(mark)
        elif ":" not in mark:  # not a digest nor a row count: "missing", or a load id not on record
            return None
    return min(marks, key=_as_number) if marks else None


def _plan(
    step: str,
    step_nodes: set[str],
    selected: set[str],
    built: set[str],
    now: Mapping[str, str],
    downstream: Mapping[str, set[str]],
    reason: str,
    manifest: Mapping[str, Any],
) -> BuildPlan:
    # All or nothing per step: dbt leaves out a test when any of its parents is left out
    # (eager indirect selection), so a partial build would silently drop a rebuilt model's
    # relationship and reconciliation checks. The incremental models keep a whole step cheap.
    if built:
        built = set(selected)
    # a watermark moves only when every node of the step downstream of it was built (the
    # adt_flow job builds the patient-flow subset: the other sources stay where they were)
    record = {source: now[source] for source, nodes in downstream.items() if nodes <= built}
    if built >= step_nodes:
        record[PROJECT_SOURCE] = now[PROJECT_SOURCE]
    exclude = tuple(sorted(_selector(manifest, uid) for uid in selected - built))
    return BuildPlan(step=step, skip=not built, exclude=exclude, reason=reason, record=record)


def record_when_done(events: Iterator[T], settings: Settings, plan: BuildPlan) -> Iterator[T]:
    """``events`` unchanged, the plan's watermarks stored once they are exhausted (a dbt
    failure raises before that) but before the last event is handed on: Dagster may close
    the step's generator right after its last event."""
    previous: list[T] = []
    for event in events:
        if previous:
            yield previous.pop()
        previous.append(event)
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        record_build(conn, plan)
    yield from previous


def plan_for_context(settings: Settings, context: AssetExecutionContext) -> BuildPlan:
    """:func:`plan_build` for a ``@dbt_assets`` step: its nodes, and those the run selected."""
    manifest, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    keys = {
        translator.get_asset_spec(manifest, uid, project).key: uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in BUILT_TYPES
    }
    step_nodes = {keys[key] for key in context.assets_def.keys if key in keys}
    selected = {keys[key] for key in context.selected_asset_keys if key in keys}
    full_check = context.run.tags.get(FULL_CHECK_TAG) == "true"
    plan = plan_build(settings, manifest, context.op_def.name, step_nodes, selected, full_check)
    left_out = set(plan.exclude)
    # Dagster wants a multi-asset's outputs in dependency order; nothing left out is downstream
    # of a rebuilt node (what is downstream of a changed source is rebuilt), so they go first
    rank = {uid: position for position, uid in enumerate(topological_order(manifest))}
    unchanged = sorted(
        (rank[uid], key)
        for key, uid in keys.items()
        if uid in selected and _selector(manifest, uid) in left_out
    )
    return replace(plan, unchanged=tuple(key for _, key in unchanged))


def topological_order(manifest: Mapping[str, Any]) -> list[str]:
    """Every node and source of the manifest, each after all it depends on."""
    order: list[str] = []
    done: set[str] = set()
    for root in sorted(manifest["nodes"]):
        stack = [(root, False)]
        while stack:
            uid, expanded = stack.pop()
            if uid in done:
                continue
            if expanded:
                done.add(uid)
                order.append(uid)
                continue
            stack.append((uid, True))
            parents = manifest["nodes"].get(uid, {}).get("depends_on", {}).get("nodes", [])
            stack.extend((parent, False) for parent in parents if parent not in done)
    return order
