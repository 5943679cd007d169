"""Which dbt nodes a step rebuilds: downstream of changed sources only, everything on a new project."""

from __future__ import annotations

import copy

from orchestration.dbt_selection import (
    CLOCK_SOURCE,
    PROJECT_SOURCE,
    _plan,
    clock_models,
    descendants,
    oldest_load_watermark,
    project_digest,
    topological_order,
)

A, B = "source.p.ehr.a", "source.p.adt.b"
STG_A, STG_B, INT_AB, TEST = "model.p.stg_a", "model.p.stg_b", "model.p.int_ab", "test.p.not_null_x"


def _node(name: str, code: str = "select 1") -> dict:
    return {"resource_type": "model", "fqn": ["p", name], "raw_code": code, "checksum": {"checksum": name}}


MANIFEST = {
    "metadata": {"project_name": "p", "generated_at": "2025-03-01T00:00:00Z"},
    "nodes": {
        STG_A: _node("stg_a", "select *, birth_date > current_date as in_future from a"),
        STG_B: _node("stg_b"),
        INT_AB: _node("int_ab"),
        TEST: {"resource_type": "test", "fqn": ["p", "t"], "raw_code": "", "checksum": {}},
    },
    "sources": {A: {"relation_name": "bronze.a"}, B: {"relation_name": "bronze.b"}},
    "macros": {},
    "child_map": {A: [STG_A], B: [STG_B], STG_A: [INT_AB, TEST], STG_B: [INT_AB], INT_AB: [], TEST: []},
}
STEP = {STG_A, STG_B, INT_AB}


def test_descendants_are_built_nodes_only() -> None:
    assert descendants(MANIFEST, [B]) == {STG_B, INT_AB}
    assert descendants(MANIFEST, [A]) == {STG_A, INT_AB}  # the test is not a node to build


def test_models_reading_the_wall_clock_are_found() -> None:
    assert clock_models(MANIFEST) == {STG_A}


def test_the_digest_ignores_when_the_manifest_was_parsed_but_not_what_it_builds() -> None:
    reparsed = copy.deepcopy(MANIFEST)
    reparsed["metadata"]["generated_at"] = "2026-01-01T00:00:00Z"
    assert project_digest(reparsed) == project_digest(MANIFEST)
    edited = copy.deepcopy(MANIFEST)
    edited["nodes"][STG_B]["checksum"] = {"checksum": "new sql"}
    assert project_digest(edited) != project_digest(MANIFEST)


def test_a_step_builds_all_of_its_selection_or_nothing() -> None:
    downstream = {A: {STG_A, INT_AB}, B: {STG_B, INT_AB}, CLOCK_SOURCE: {STG_A, INT_AB}}
    now = {A: "1", B: "2", CLOCK_SOURCE: "2025-03-01", PROJECT_SOURCE: "d"}
    # only b changed: the whole step is built (a test of int_ab reads stg_a too)
    plan = _plan("dbt_silver", STEP, STEP, {STG_B, INT_AB}, now, downstream, "new data in b", MANIFEST)
    assert plan.exclude == () and not plan.skip
    assert plan.record == now
    nothing = _plan("dbt_silver", STEP, STEP, set(), now, downstream, "no source changed", MANIFEST)
    assert nothing.skip and nothing.record == {}
    # a job selecting part of the step (adt_flow): that part is built, and only the watermarks
    # whose downstream it covers move (not the project digest: the step was not built whole)
    part = _plan("dbt_silver", STEP, {STG_B, INT_AB}, {STG_B}, now, downstream, "new data in b", MANIFEST)
    assert part.exclude == () and part.record == {B: "2"}


def test_nodes_are_ordered_after_what_they_depend_on() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["nodes"][INT_AB]["depends_on"] = {"nodes": [STG_B, STG_A]}
    manifest["nodes"][STG_A]["depends_on"] = {"nodes": [A]}
    manifest["nodes"][STG_B]["depends_on"] = {"nodes": [B]}
    order = topological_order(manifest)
    assert order.index(STG_A) < order.index(INT_AB) and order.index(STG_B) < order.index(INT_AB)
    assert order.index(A) < order.index(STG_A)


def test_new_rows_lie_after_the_oldest_watermark_of_a_changed_dlt_source() -> None:
    loads = ["1700000001.5", "1700000002.25", "1700000010.0", "1700000011.0"]
    recorded = {
        "source.carehouse.ehr.encounter": "1700000010.0",
        "source.carehouse.adt.events": "1700000002.25",  # the ADT job built it since: older here
        "source.carehouse.ehr.systems": "content:3f2a",  # a small table compared by content
        "source.carehouse.bronze.sample_rate": "4:812",  # a table dlt does not write
    }
    changed = [*recorded, "clock:today"]
    assert oldest_load_watermark(changed, recorded, loads) == "1700000002.25"
    # only the encounters changed: rows after their own watermark
    assert oldest_load_watermark(["source.carehouse.ehr.encounter"], recorded, loads) == "1700000010.0"
    # nothing with a load id changed: nothing to narrow to
    assert oldest_load_watermark(["source.carehouse.ehr.systems", "clock:today"], recorded, loads) is None


def test_every_row_is_tested_when_a_changed_source_was_never_built_or_its_load_is_gone() -> None:
    loads = ["1700000001.5", "1700000010.0"]
    recorded = {"source.carehouse.ehr.encounter": "1700000010.0"}
    new_source = "source.carehouse.claims.claim_lines"
    assert oldest_load_watermark(["source.carehouse.ehr.encounter", new_source], recorded, loads) is None
    gone = {"source.carehouse.ehr.encounter": "1699999999.0"}
    assert oldest_load_watermark(["source.carehouse.ehr.encounter"], gone, loads) is None
    missing = {"source.carehouse.ehr.encounter": "missing"}
    assert oldest_load_watermark(["source.carehouse.ehr.encounter"], missing, loads) is None
