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
    ["load", "ehr"],
    ["load", "ehr-api"],
    ["load", "fhir-bulk"],
    ["load", "adt"],
    ["load", "feeds"],
    ["load", "reference"],
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
    ["bench", "pipeline"],
    ["dbt"],
    ["status"],
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


def test_bench_pipeline_rejects_a_bad_start_date_before_anything_runs() -> None:
    result = CliRunner().invoke(app, ["bench", "pipeline", "--start-date", "2025-13-01"])
    assert result.exit_code != 0
    assert "--start-date" in result.output and "2025-03-02" in result.output


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


def test_load_names_its_sources_as_subcommands_and_rejects_others() -> None:
    result = CliRunner().invoke(app, ["load", "pharmacy"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_a_bad_load_config_is_one_line_before_the_warehouse_starts(tmp_path: Path) -> None:
    config = tmp_path / "load_config.yaml"
    config.write_text("feeds: []\n")
    result = CliRunner().invoke(app, ["load", "feeds", "--config", str(config)])
    assert result.exit_code == 2
    assert "'feeds' must be a non-empty list" in result.output
    assert not (tmp_path / "pgdata").exists()


@pytest.mark.parametrize(
    ("module", "args", "usage"),
    [
        ("ingestion.ehr", [], "python -m ingestion.ehr [OPTIONS]"),
        ("ingestion.feeds", [], "--config"),
        ("ingestion.billing", [], "--date"),
        ("ingestion.adt", ["simulate"], "--follow"),
        ("ingestion.ehr.api", ["serve"], "--rate-limit"),
        ("ingestion.ehr.api", ["load"], "--base-url"),
    ],
)
def test_python_m_loaders_are_the_carehouse_commands(
    module: str, args: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    main = importlib.import_module(f"{module}.__main__").main
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"python -m {module}" in out and usage in out


def test_python_m_ingestion_ehr_help_runs_as_a_module() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ingestion.ehr", "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "python -m ingestion.ehr" in done.stdout and "bronze" in done.stdout


@pytest.mark.parametrize(("option", "value"), [("--sample-rate", "101"), ("--log-level", "LOUD")])
def test_run_rejects_a_bad_option_before_anything_starts(option: str, value: str) -> None:
    result = CliRunner().invoke(app, ["run", option, value])
    assert result.exit_code == 2
    assert option in result.output and "Traceback" not in result.output


def test_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"carehouse {version('carehouse')}"


def test_load_fhir_bulk_help_says_what_an_export_folder_is() -> None:
    result = CliRunner().invoke(app, ["load", "fhir-bulk", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Bulk Data export folder is what a FHIR server's $export delivers" in text
    assert "<ResourceType>.<n>.ndjson or .ndjson.gz" in text and "--system" in text


def test_a_bad_ehr_registry_is_one_line_before_the_warehouse_starts(tmp_path: Path) -> None:
    registry = tmp_path / "ehr_systems.yaml"
    registry.write_text(
        "systems:\n  - name: cerner\n    arrives: fax\n    description: x\n", encoding="utf-8"
    )
    env = {
        "CAREHOUSE_EHR_REGISTRY": str(registry),
        "CAREHOUSE_HOME": str(tmp_path / "home"),
        "COLUMNS": "300",
    }
    result = CliRunner().invoke(app, ["load", "ehr"], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: EHR registry {registry}: systems[0] (cerner): arrives 'fax' must be one of"
        " landing_files, fhir_api, bulk_export"
    )
    assert not (tmp_path / "home").exists()  # no warehouse started
