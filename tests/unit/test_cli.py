"""Every command of the ``carehouse`` CLI answers ``--help``."""

from __future__ import annotations

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
    ["db", "psql"],
    ["bench"],
    ["bench", "ingest"],
    ["bench", "feeds"],
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
