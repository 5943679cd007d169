"""The ICD-10-CM code set lands in bronze once per release, complete and rolled up."""

from __future__ import annotations

import psycopg

from ingestion.reference.icd10_cm import code_set_version, load_reference_to_bronze
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings


def test_icd10_cm_loads_once_with_its_hierarchy(scratch_warehouse: Settings) -> None:
    ensure_schemas_and_roles(scratch_warehouse)
    first = load_reference_to_bronze(scratch_warehouse)
    assert (first.source, first.files) == ("reference", 0)
    assert first.rows == first.rows_by_table["reference__icd10_cm"] > 90_000  # the whole classification

    assert load_reference_to_bronze(scratch_warehouse).rows == 0  # same release: nothing to do
    with psycopg.connect(scratch_warehouse.dsn) as conn:
        total, billable, loads, versions = conn.execute(
            "select count(*), count(*) filter (where is_billable), count(distinct _dlt_load_id),"
            " count(distinct code_set_version) from bronze.reference__icd10_cm"
        ).fetchone()
        assert total == first.rows  # the second run neither added nor truncated rows
        assert 70_000 < billable < total and loads == 1 and versions == 1
        row = conn.execute(
            "select description, is_billable, code_type, category, block, chapter, code_set_version"
            " from bronze.reference__icd10_cm where code = 'E11.9'"
        ).fetchone()
        assert row == (
            "Type 2 diabetes mellitus without complications",
            True,
            "subcategory",
            "E11",
            "E08-E13",
            "4",
            code_set_version(),
        )
        duplicates = conn.execute(
            "select count(*) - count(distinct code) from bronze.reference__icd10_cm"
        ).fetchone()[0]
        assert duplicates == 0
