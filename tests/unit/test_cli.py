"""Every command of the ``carehouse`` CLI answers ``--help``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration.cli import app

COMMANDS = [
    [],
    ["run"],
    ["load"],
    ["ui"],
    ["simulate"],
    ["simulate", "ehr"],
    ["simulate", "ehr-api"],
    ["simulate", "adt"],
    ["simulate", "revenue-cycle"],
    ["db"],
    ["db", "start"],
    ["db", "stop"],
    ["db", "status"],
    ["db", "url"],
    ["db", "env"],
    ["db", "psql"],
    ["bench"],
    ["bench", "ingest"],
    ["bench", "feeds"],
    ["dbt"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "carehouse")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_run_rejects_a_bad_date() -> None:
    result = CliRunner().invoke(app, ["run", "--date", "02/03/2025"])
    assert result.exit_code != 0
    assert "2025-03-02" in result.output


def test_a_setting_carehouse_cannot_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "CAREHOUSE_HOME": str(tmp_path), "CAREHOUSE_LOCK_TIMEOUT": "soon"}
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "load", "ehr"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert (
        done.stdout + done.stderr
    ).strip() == "error: CAREHOUSE_LOCK_TIMEOUT must be a number (got 'soon')"
