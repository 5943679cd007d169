"""dlt's working folder under the carehouse home holds no data once a load has ended.

A load spools raw copies of the data there (extracted Arrow files, normalized CSVs, the loaded
package): ``bronze_load`` deletes them when the load ends, fails or not, and a load that was
killed leaves them only until the next load starts. So the home does not grow with loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.bronze_loads import bronze_load
from ingestion.bronze_pipeline import LOADER_FILE_FORMAT, bronze_pipeline
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

PIPELINE = "carehouse_spool_test"
ROWS = [{"id": i, "note": f"row {i}"} for i in range(2_000)]


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_a_load_leaves_no_working_files_ok_failed_or_killed(scratch_warehouse: Settings) -> None:
    settings = scratch_warehouse
    ensure_schemas_and_roles(settings)
    working = settings.dlt_pipelines_dir / PIPELINE
    killed = working / "normalize" / "extracted" / "1700000000.1" / "new_jobs" / "spool_test.1.parquet"
    killed.parent.mkdir(parents=True)
    killed.write_bytes(b"raw data of a killed load")

    with bronze_load(bronze_pipeline(PIPELINE, settings), settings) as pipeline:
        assert not killed.exists(), "a killed load's spool is thrown away before the next load"
        pipeline.run(
            ROWS, table_name="spool_test", loader_file_format=LOADER_FILE_FORMAT
        ).raise_on_failed_jobs()
        assert any(path.suffix == ".csv" for path in _files(working)), "the load spooled its data here"
    assert _files(settings.dlt_pipelines_dir) == []

    with (
        pytest.raises(RuntimeError, match="the block failed"),
        bronze_load(bronze_pipeline(PIPELINE, settings), settings) as pipeline,
    ):
        pipeline.extract(ROWS, table_name="spool_test", loader_file_format=LOADER_FILE_FORMAT)
        pipeline.normalize()
        assert _files(working)
        raise RuntimeError("the block failed")
    assert _files(settings.dlt_pipelines_dir) == []
