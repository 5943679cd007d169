"""The live view sorts every step of daily_pipeline into its layer."""

from __future__ import annotations

from orchestration.definitions import defs
from orchestration.jobs import DAILY_JOB_NAME
from orchestration.progress import PHASES, phase_of


def test_every_step_that_builds_assets_has_a_layer_and_the_rest_are_checks() -> None:
    graph = defs.resolve_asset_graph()
    asset_ops = {graph.get(key).assets_def.node_def.name for key in graph.materializable_asset_keys}
    steps = set(defs.resolve_job_def(DAILY_JOB_NAME).graph.node_dict)
    assert {phase_of(step) for step in steps & asset_ops} == set(PHASES)
    assert {phase_of(step) for step in steps - asset_ops} == {"checks"}
