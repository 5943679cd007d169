"""A warehouse carehouse cannot reach, or a DSN it cannot read, is one line with a hint and an exit
code: quickly, before any work, never a traceback, never the password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse.settings import (
    ENV_DSN,
    ENV_HOME,
    ConnectionFacts,
    Settings,
    SettingsError,
    WarehouseUnreachableError,
    check_reachable,
)

PASSWORD = "s3cret-pw"
# run must fail before it simulates a file or starts Dagster: the date keeps it from defaulting
COMMANDS = [["db", "status"], ["run", "--date", "2025-03-01"], ["load", "ehr"], ["dbt", "debug"]]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound once by the kernel's choice, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _carehouse(args: list[str], dsn: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAREHOUSE_PG")}
    env.update({ENV_DSN: dsn, ENV_HOME: str(home)})
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_closed_port_is_one_line_naming_where_and_why(args: list[str], tmp_path: Path) -> None:
    port = _closed_port()
    home = tmp_path / "home"
    done = _carehouse(args, f"postgresql://carehouse:{PASSWORD}@127.0.0.1:{port}/warehouse", home)
    output = (done.stdout + done.stderr).strip()
    assert output == (
        f"error: cannot connect to Postgres at 127.0.0.1:{port}/warehouse (connection refused)"
        " — check CAREHOUSE_DSN"
    )
    assert done.returncode == 1
    assert not (home / "landing").exists()  # nothing simulated, nothing loaded


@pytest.mark.parametrize(
    ("dsn", "complaint"),
    [
        (f"postgresql://carehouse:{PASSWORD}@127.0.0.1:port/warehouse", "not a valid postgresql:// URL"),
        (f"mysql://carehouse:{PASSWORD}@127.0.0.1:3306/warehouse", "must be a postgresql:// URL"),
    ],
    ids=["bad port", "other scheme"],
)
@pytest.mark.parametrize("args", COMMANDS[:3], ids=" ".join)
def test_a_malformed_dsn_is_one_line_without_the_password(
    args: list[str], dsn: str, complaint: str, tmp_path: Path
) -> None:
    done = _carehouse(args, dsn, tmp_path / "home")
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 1
    assert len(output.splitlines()) == 1 and output.startswith("error: CAREHOUSE_DSN"), output
    assert complaint in output
    assert PASSWORD not in output


def test_the_check_gives_up_on_a_closed_port_at_once() -> None:
    dsn = f"postgresql://carehouse:{PASSWORD}@127.0.0.1:{_closed_port()}/warehouse"
    started = time.monotonic()
    with pytest.raises(WarehouseUnreachableError) as raised:
        check_reachable(dsn)
    assert time.monotonic() - started < 3
    assert PASSWORD not in str(raised.value)


def test_a_real_server_says_what_it_refused_without_the_password(warehouse_settings: Settings) -> None:
    """The embedded server's DSN carries its generated password; the message must not."""
    facts = ConnectionFacts.from_dsn(warehouse_settings.dsn)
    base, _, _ = warehouse_settings.dsn.rpartition("/")
    with pytest.raises(WarehouseUnreachableError) as raised:
        check_reachable(f"{base}/carehouse_no_such_database")
    message = str(raised.value)
    assert message == (
        f"cannot connect to Postgres at {facts.host}:{facts.port}/carehouse_no_such_database"
        ' (database "carehouse_no_such_database" does not exist) — check CAREHOUSE_DSN'
    )
    if facts.password:
        assert facts.password not in message


def test_connection_facts_never_show_the_password() -> None:
    facts = ConnectionFacts.from_dsn(f"postgresql://carehouse:{PASSWORD}@db.internal/warehouse")
    assert PASSWORD not in repr(facts) and facts.location == "db.internal:5432/warehouse"
    with pytest.raises(SettingsError):
        ConnectionFacts.from_dsn(f"postgresql://carehouse:{PASSWORD}@[db/warehouse")
