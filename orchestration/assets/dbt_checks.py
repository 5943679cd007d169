"""Descriptions for the asset checks dbt tests become, so none is blank in the Dagster UI.

A test's own ``description`` (or ``meta.description``) wins; a singular test is described by
the comment banner at the top of its SQL; a generic test by what it asserts, where.
"""

from collections.abc import Mapping
from typing import Any

_BANNER = "-- "
_MAX_VALUES = 6  # accepted_values lists beyond this are summarised


def describe_test(manifest: Mapping[str, Any], unique_id: str) -> str:
    node = manifest["nodes"][unique_id]
    own = node.get("description") or (node.get("meta") or {}).get("description")
    if own:
        return str(own)
    metadata = node.get("test_metadata")
    if not metadata:
        return _singular(node)
    return _generic(manifest, node, metadata)


def _singular(node: Mapping[str, Any]) -> str:
    """The first paragraph of the SQL file's leading ``--`` comment, else its path."""
    lines: list[str] = []
    for raw in str(node.get("raw_code") or "").splitlines():
        text = raw.strip()
        if not text.startswith("--"):
            break
        body = text.removeprefix("--").strip()
        if set(body) <= {"=", "-"}:  # a banner rule: the paragraph ends at the closing one
            if lines:
                break
            continue
        lines.append(body)
    summary = " ".join(lines)
    path = node.get("original_file_path", node["name"])
    return f"dbt test {node['name']}: {summary}" if summary else f"dbt singular test {path}"


def _generic(manifest: Mapping[str, Any], node: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
    test = metadata["name"]
    kwargs = metadata.get("kwargs") or {}
    column = node.get("column_name") or kwargs.get("column_name")
    target = _tested(manifest, node)
    where = f"column {column} of {target}" if column else target
    detail = ""
    if test == "accepted_values":
        values = [str(v) for v in kwargs.get("values") or []]
        shown = ", ".join(values[:_MAX_VALUES]) + (", …" if len(values) > _MAX_VALUES else "")
        detail = f" (one of: {shown})"
    elif test == "relationships":
        detail = f" (every value exists in {kwargs.get('to')}.{kwargs.get('field')})"
    elif test == "unique_combination_of_columns":
        detail = f" ({', '.join(kwargs.get('combination_of_columns') or [])})"
    elif test == "expression_is_true":
        detail = f" ({kwargs.get('expression')})"
    return f"dbt test {test} on {where}{detail}"


def _tested(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    """ "model X", "seed X" or "source table X": a source test names no attached node, so the
    node it depends on is the one it tests."""
    depends_on = (node.get("depends_on") or {}).get("nodes") or []
    unique_id = node.get("attached_node") or (depends_on[0] if depends_on else "")
    tested = manifest["nodes"].get(unique_id) or manifest.get("sources", {}).get(unique_id)
    if not tested:
        return "its model"
    kind = "source table" if tested["resource_type"] == "source" else tested["resource_type"]
    return f"{kind} {tested.get('identifier') or tested['name']}"
