"""The full ICD-10-CM code set, from the ``simple-icd-10-cm`` package, into bronze with dlt.

One row per code in the classification (chapters, blocks, categories, subcategories), with
its chapter and block, so ``gold.dim_diagnosis`` can roll diagnoses up. Codes are merged on
``code`` only when the package's code-set version differs from what bronze holds, which keeps
daily runs idempotent and cheap; a code retired by a later release keeps its row (with the
release it came from), because old diagnoses still carry it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.bronze_loads import LoadResult, bronze_load, normalized_rows
from ingestion.bronze_pipeline import BRONZE_SCHEMA, LOADER_FILE_FORMAT, bronze_pipeline
from warehouse.connection import connect, table_exists
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOURCE_NAME = "reference"
ICD10_TABLE = "reference__icd10_cm"


ICD10_DESCRIPTION = (
    "The ICD-10-CM classification (chapters, blocks, categories, codes) from the simple-icd-10-cm"
    " package, one row per code with its chapter and block; merged on code when a release changes."
)
ICD10_HINTS: dict[str, dict[str, object]] = {
    "code": {"data_type": "text", "nullable": False, "description": "ICD-10-CM code with its dot (E11.9)"},
    "description": {"data_type": "text", "nullable": False},
    "is_billable": {"data_type": "bool", "nullable": False, "description": "a leaf code, valid on a claim"},
    "code_type": {"data_type": "text", "nullable": False},
    "category": {
        "data_type": "text",
        "description": "three-character category (E11); null for chapters/blocks",
    },
    "block": {"data_type": "text"},
    "block_description": {"data_type": "text"},
    "chapter": {"data_type": "text"},
    "chapter_description": {"data_type": "text"},
    "code_set_version": {"data_type": "text", "nullable": False},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}


def code_set_version() -> str:
    return f"simple-icd-10-cm {version('simple-icd-10-cm')}"


def _code_type(cm, code: str) -> str:  # cm: the simple_icd_10_cm module
    if cm.is_chapter(code):
        return "chapter"
    # A few blocks hold a single category of the same name (B20); the code is listed twice
    # and the category reading is the one diagnoses roll up to.
    if cm.is_category(code):
        return "category"
    if cm.is_block(code):
        return "block"
    if cm.is_extended_subcategory(code):
        return "extended_subcategory"
    return "subcategory"


def icd10_cm_table(loaded_at: datetime) -> pa.Table:
    """Every code of the package as one Arrow table."""
    import simple_icd_10_cm as cm

    columns: dict[str, list[object]] = {name: [] for name in ICD10_HINTS}
    release = code_set_version()
    for code in dict.fromkeys(cm.get_all_codes(with_dots=True)):  # unique, in classification order
        kind = _code_type(cm, code)
        ancestors = cm.get_ancestors(code)  # nearest first, chapter last
        chapter = code if kind == "chapter" else (ancestors[-1] if ancestors else None)
        block = code if cm.is_block(code) else next((a for a in ancestors if cm.is_block(a)), None)
        category = None
        if kind not in {"chapter", "block"}:
            category = code if kind == "category" else next(a for a in ancestors if cm.is_category(a))
        row = {
            "code": code,
            "description": cm.get_description(code),
            "is_billable": kind not in {"chapter", "block"} and cm.is_leaf(code),
            "code_type": kind,
            "category": category,
            "block": block,
            "block_description": cm.get_description(block) if block else None,
            "chapter": chapter,
            "chapter_description": cm.get_description(chapter) if chapter else None,
            "code_set_version": release,
            "loaded_at": loaded_at,
        }
        for name, value in row.items():
            columns[name].append(value)
    types = {"is_billable": pa.bool_(), "loaded_at": pa.timestamp("us", tz="UTC")}
    return pa.table(
        {name: pa.array(values, types.get(name, pa.string())) for name, values in columns.items()}
    )


def loaded_version(settings: Settings) -> str | None:
    with connect(settings) as conn:
        if not table_exists(conn, BRONZE_SCHEMA, ICD10_TABLE):
            return None
        row = conn.execute(f"select max(code_set_version) from {BRONZE_SCHEMA}.{ICD10_TABLE}").fetchone()
    return row[0] if row else None


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def reference_source(settings_factory: Callable[[], Settings] = get_settings) -> list[DltResource]:
    """Reference code sets; today the ICD-10-CM classification."""

    @dlt.resource(name=ICD10_TABLE, write_disposition="merge", primary_key="code", columns=ICD10_HINTS)
    def icd10_cm() -> Iterator[pa.Table]:
        """The ICD-10-CM code set (merged when the package releases a new version)."""
        release = code_set_version()
        if loaded_version(settings_factory()) == release:
            log.info("ICD-10-CM %s is already in bronze", release)
            return
        yield icd10_cm_table(datetime.now(UTC))

    return [icd10_cm.apply_hints(additional_table_hints={"description": ICD10_DESCRIPTION})]


REFERENCE_PIPELINE_NAME = "carehouse_reference"


def reference_pipeline(settings: Settings | None = None, *, with_credentials: bool = True) -> dlt.Pipeline:
    """The reference bronze pipeline (see :func:`ingestion.bronze_pipeline.bronze_pipeline`)."""
    return bronze_pipeline(REFERENCE_PIPELINE_NAME, settings, with_credentials=with_credentials)


def load_reference_to_bronze(
    settings: Settings | None = None, on_wait: Callable[[str], None] | None = None
) -> LoadResult:
    """Load the reference code sets (no rows when bronze already holds the package's release)."""
    settings = settings or get_settings()
    with bronze_load(reference_pipeline(settings), settings, on_wait=on_wait) as pipeline:
        info = pipeline.run(reference_source(lambda: settings), loader_file_format=LOADER_FILE_FORMAT)
        info.raise_on_failed_jobs()
        counts = normalized_rows(pipeline)
    return LoadResult(source="reference", files=0, rows_by_table={ICD10_TABLE: counts.get(ICD10_TABLE, 0)})
