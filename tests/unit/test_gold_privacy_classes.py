"""Every column analysts can read states its privacy class, and gold holds no direct identifier.

The classes live in the column's dbt config (``config: {meta: {privacy_class: ...}}`` in the
properties YAML under dbt_project/models/marts; defined in the header of
models/marts/dimensions/_dimensions__models.yml). The test parses the dbt project with dbt's
own parser (``dbtRunner``, no database) into a temporary target path and reads the manifest,
so it sees the schema every model really builds in (gold or review) and the columns dbt
knows. Contracts are enforced on those models (checked here too), so the YAML lists every
column the table will have: a column added without a class, or a new model without
documented columns, fails this test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner

from warehouse.settings import ConnectionFacts

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
ANALYST_SCHEMAS = {"gold", "review"}
PRIVACY_CLASSES = {"direct_identifier", "quasi_identifier", "none"}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    out = tmp_path_factory.mktemp("dbt-parse")
    # profiles.yml has no defaults; parse renders the profile but never connects
    placeholder = ConnectionFacts(host="127.0.0.1", port=5432, user="parse", password="", dbname="parse")
    patch = pytest.MonkeyPatch()
    for name, value in placeholder.dbt_env().items():
        patch.setenv(name, value)
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(out / "target"),
            "--log-path", str(out / "logs"),
            "--no-partial-parse",
            "--quiet",
        ]
    )  # fmt: skip
    patch.undo()
    assert result.success, f"dbt parse failed: {result.exception}"
    return json.loads((out / "target" / "manifest.json").read_text())


def analyst_models(manifest: Manifest) -> Iterator[dict[str, Any]]:
    """The project's models that build in a schema analysts or reviewers read."""
    for node in manifest["nodes"].values():
        if (
            node["resource_type"] == "model"
            and node["package_name"] == "carehouse"
            and node["schema"] in ANALYST_SCHEMAS
        ):
            yield node


def privacy_class(column: dict[str, Any]) -> str | None:
    # dbt >= 1.10 keeps a column's meta under its config (and mirrors it to the top-level meta)
    meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
    return meta.get("privacy_class")


def class_problems(manifest: Manifest) -> list[str]:
    """Every column of a gold / review model without a valid class, and every gold direct identifier."""
    problems = []
    for node in analyst_models(manifest):
        if not node["columns"]:
            problems.append(f"{node['schema']}.{node['name']}: no documented columns")
        for name, column in node["columns"].items():
            cls = privacy_class(column)
            where = f"{node['schema']}.{node['name']}.{name}"
            if cls not in PRIVACY_CLASSES:
                problems.append(f"{where}: privacy_class {cls!r} is not one of {sorted(PRIVACY_CLASSES)}")
            elif cls == "direct_identifier" and node["schema"] == "gold":
                problems.append(f"{where}: a direct identifier in gold")
    return problems


def test_the_analyst_schemas_are_found(manifest: Manifest) -> None:
    by_schema = {node["name"]: node["schema"] for node in analyst_models(manifest)}
    assert by_schema["fct_encounters"] == "gold"
    assert by_schema["dim_patient"] == "gold"
    assert by_schema["mart_chart_review"] == "review"
    # every mart builds in one of them: a new marts folder with its own schema must be added here
    marts = {
        node["name"]: node["schema"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith("models/marts/")
    }
    assert marts.keys() == by_schema.keys()


def test_contracts_are_enforced_so_the_yaml_lists_every_column(manifest: Manifest) -> None:
    unenforced = [node["name"] for node in analyst_models(manifest) if not node["contract"]["enforced"]]
    assert unenforced == []


def test_every_column_has_a_privacy_class_and_gold_has_no_direct_identifier(manifest: Manifest) -> None:
    problems = class_problems(manifest)
    assert not problems, "\n".join(problems)


def test_review_classes_its_source_ids_as_direct_identifiers(manifest: Manifest) -> None:
    chart_review = next(node for node in analyst_models(manifest) if node["name"] == "mart_chart_review")
    assert privacy_class(chart_review["columns"]["source_encounter_id"]) == "direct_identifier"


def test_a_column_added_without_a_class_or_an_identifier_in_gold_fails(manifest: Manifest) -> None:
    changed = copy.deepcopy(manifest)
    models = {node["name"]: node for node in analyst_models(changed)}
    added = {
        ("fct_encounters", "new_column"): {},
        ("fct_encounters", "mrn"): {"privacy_class": "direct_identifier"},
        ("fct_encounters", "first_name"): {"privacy_class": "quasi"},
        ("mart_chart_review", "reviewer_note"): {},
    }
    for (model, column), meta in added.items():
        models[model]["columns"][column] = {"name": column, "meta": meta, "config": {"meta": meta}}
    models["mart_chart_review"]["columns"]["source_encounter_id"]["config"]["meta"] = {}
    models["mart_chart_review"]["columns"]["source_encounter_id"]["meta"] = {}
    new_problems = set(class_problems(changed)) - set(class_problems(manifest))
    assert sorted(problem.split(":")[0] for problem in new_problems) == [
        "gold.fct_encounters.first_name",
        "gold.fct_encounters.mrn",
        "gold.fct_encounters.new_column",
        "review.mart_chart_review.reviewer_note",
        "review.mart_chart_review.source_encounter_id",
    ]
