"""Alerts on a real Dagster instance, delivered to a real local webhook and a real SMTP server.

The receivers are tiny servers in threads (http.server; a socketserver speaking the SMTP that
smtplib needs), so the test sees exactly what a receiver would get.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    SensorResult,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    define_asset_job,
    job,
    op,
)

from orchestration.alerts import (
    ALERTED_TAG,
    ENV_ALERT_SMTP,
    ENV_ALERT_WEBHOOK,
    SmtpTarget,
    alert_on_run,
    blocking_check_alert_sensor,
    run_failure_alert_sensor,
)
from warehouse.settings import ENV_HOME

PHI = "Jane Roe, MRN 00123"  # in the error message of the failing step: must never reach an alert

# ----------------------------------------------------------------------------- receivers


class _Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        pass


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class _SmtpState:
    mails: list[Mail] = field(default_factory=list)


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        state: _SmtpState = self.server.state  # type: ignore[attr-defined]
        sender, recipients, login = "", [], None
        self._reply("220 localhost test SMTP")
        while line := self.rfile.readline():
            command, _, argument = line.decode().rstrip("\r\n").partition(" ")
            verb = command.upper()
            if verb == "EHLO":
                self._reply("250-localhost")
                self._reply("250 AUTH PLAIN")
            elif verb == "HELO":
                self._reply("250 localhost")
            elif verb == "AUTH":
                _, _, encoded = argument.partition(" ")
                _, user, password = base64.b64decode(encoded).decode().split("\0")
                login = f"{user}:{password}"
                self._reply("235 authenticated")
            elif verb == "MAIL":
                sender, recipients = argument.split(":", 1)[1].strip().strip("<>"), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(argument.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = message_from_bytes(data, policy=policy.default)
                state.mails.append(Mail(sender, recipients, message, login))  # type: ignore[arg-type]
                self._reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


@pytest.fixture
def webhook() -> Iterator[tuple[str, list]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/carehouse-secret-token", server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _SmtpState]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    server.state = _SmtpState()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.state  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ----------------------------------------------------------------------------- what fails


@op
def extract() -> None:
    raise ValueError(f"could not parse the record of {PHI}")


@op
def fine() -> None:
    pass


@job
def broken() -> None:
    extract()


@job
def healthy() -> None:
    fine()


@asset
def admissions() -> int:
    return 3


@asset_check(asset=admissions, blocking=True)
def admissions_match_manifest() -> AssetCheckResult:
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR, metadata={"missing_rows": 2})


checked_job = define_asset_job("checked", selection=[admissions])
checked_defs = Definitions(assets=[admissions], asset_checks=[admissions_match_manifest], jobs=[checked_job])


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    monkeypatch.setenv(ENV_HOME, str(tmp_path))
    monkeypatch.delenv(ENV_ALERT_WEBHOOK, raising=False)
    monkeypatch.delenv(ENV_ALERT_SMTP, raising=False)
    (tmp_path / "dagster").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "dagster")) as dagster_instance:
        yield dagster_instance


def _failure_tick(instance: DagsterInstance, result) -> None:
    context = build_run_status_sensor_context(
        sensor_name=run_failure_alert_sensor.name,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    )
    run_failure_alert_sensor(context)


def _check_tick(instance: DagsterInstance, cursor: str | None) -> SensorResult:
    return blocking_check_alert_sensor(build_sensor_context(instance=instance, cursor=cursor))


def _alert_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "orchestration.alerts" and r.levelno >= logging.WARNING
    ]


# ----------------------------------------------------------------------------- tests


def test_a_failed_run_is_alerted_once_by_webhook_and_email(
    instance: DagsterInstance, webhook, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, posts = webhook
    port, smtp = smtp_server
    monkeypatch.setenv(ENV_ALERT_WEBHOOK, url)
    monkeypatch.setenv(
        ENV_ALERT_SMTP,
        f"smtp://alerts:p%40ss@127.0.0.1:{port}?from=carehouse@example.org&to=ops@example.org,dba@example.org",
    )

    assert healthy.execute_in_process(instance=instance).success
    result = broken.execute_in_process(instance=instance, raise_on_error=False)
    run_id = result.run_id
    assert result.dagster_run.status == DagsterRunStatus.FAILURE

    _failure_tick(instance, result)
    assert len(posts) == 1
    path, content_type, payload = posts[0]
    assert path == "/hooks/carehouse-secret-token" and content_type == "application/json"
    assert {k: payload[k] for k in ("run_id", "job", "status", "failed_steps", "failed_checks", "link")} == {
        "run_id": run_id,
        "job": "broken",
        "status": "FAILURE",
        "failed_steps": ["extract"],
        "failed_checks": [],
        "link": f"/runs/{run_id}",
    }
    assert run_id[:8] in payload["text"]

    assert len(smtp.mails) == 1
    mail = smtp.mails[0]
    assert mail.sender == "carehouse@example.org"
    assert mail.recipients == ["ops@example.org", "dba@example.org"]
    assert mail.login == "alerts:p@ss"
    assert "broken" in mail.message["Subject"] and "FAILURE" in mail.message["Subject"]
    body = mail.message.get_content()
    assert run_id in body and "extract" in body and f"/runs/{run_id}" in body
    assert PHI not in json.dumps(payload) and PHI not in mail.message.as_string()

    assert instance.get_run_by_id(run_id).tags[ALERTED_TAG] == "email,webhook"
    # the sensor again, carehouse run's own call, and the check sensor: nothing new is sent
    _failure_tick(instance, result)
    assert alert_on_run(instance, run_id) is None
    first = _check_tick(instance, None)
    _check_tick(instance, first.cursor)
    assert len(posts) == 1 and len(smtp.mails) == 1


def test_a_failed_blocking_check_is_alerted_once(
    instance: DagsterInstance, webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, posts = webhook
    monkeypatch.setenv(ENV_ALERT_WEBHOOK, url)
    first = _check_tick(instance, None)  # the first tick only remembers where "now" is
    assert first.cursor and not posts

    assert healthy.execute_in_process(instance=instance).success  # no alert for a good run
    checked = checked_defs.resolve_job_def("checked")
    result = checked.execute_in_process(instance=instance, raise_on_error=False)
    evaluations = result.get_asset_check_evaluations()
    assert [(e.check_name, e.passed, e.blocking) for e in evaluations] == [
        ("admissions_match_manifest", False, True)
    ]

    second = _check_tick(instance, first.cursor)
    assert len(posts) == 1
    payload = posts[0][2]
    assert payload["run_id"] == result.run_id and payload["job"] == "checked"
    assert payload["failed_checks"] == ["admissions:admissions_match_manifest"]
    assert second.cursor > first.cursor

    third = _check_tick(instance, second.cursor)  # the tag bumped the run's update time: seen again
    _check_tick(instance, third.cursor)
    assert result.dagster_run.status == DagsterRunStatus.FAILURE  # a failed blocking check fails its step
    _failure_tick(instance, result)
    assert len(posts) == 1


def test_unreachable_or_wrong_receivers_log_one_warning_each_and_raise_nothing(
    instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    result = broken.execute_in_process(instance=instance, raise_on_error=False)
    assert alert_on_run(instance, result.run_id) is None  # nothing configured: no alert, no tag
    assert ALERTED_TAG not in instance.get_run_by_id(result.run_id).tags

    port = _closed_port()
    monkeypatch.setenv(ENV_ALERT_WEBHOOK, f"http://127.0.0.1:{port}/hooks/secret-token")
    monkeypatch.setenv(
        ENV_ALERT_SMTP, f"smtp://user:secret@127.0.0.1:{port}?from=a@example.org&to=b@example.org"
    )
    with caplog.at_level(logging.WARNING, logger="orchestration.alerts"):
        _failure_tick(instance, result)
    warnings = _alert_warnings(caplog)
    assert len(warnings) == 2 and all("\n" not in w and result.run_id in w for w in warnings)
    assert not any("secret" in w for w in warnings)  # tokens and passwords stay out of logs
    assert ALERTED_TAG in instance.get_run_by_id(result.run_id).tags

    caplog.clear()
    other = broken.execute_in_process(instance=instance, raise_on_error=False)
    monkeypatch.setenv(ENV_ALERT_WEBHOOK, "ftp://127.0.0.1/hook")
    monkeypatch.setenv(ENV_ALERT_SMTP, "smtp://127.0.0.1")  # no from / to
    with caplog.at_level(logging.WARNING, logger="orchestration.alerts"):
        assert alert_on_run(instance, other.run_id) is not None
    assert [w.rsplit(": ", 1)[1] for w in _alert_warnings(caplog)] == [
        "CAREHOUSE_ALERT_WEBHOOK must be an http(s):// URL",
        "CAREHOUSE_ALERT_SMTP needs ?from=<address>&to=<address>[,<address>]",
    ]


def test_smtp_setting_format() -> None:
    target = SmtpTarget.from_url(
        "smtp://me%40corp:p%3Ass@mail.example.org:587?from=a@x.org&to=b@x.org&to=c@x.org,d@x.org&starttls=true"
    )
    assert (target.host, target.port, target.user) == ("mail.example.org", 587, "me@corp")
    assert target.password == "p:ss"
    assert target.sender == "a@x.org" and target.recipients == ("b@x.org", "c@x.org", "d@x.org")
    assert target.starttls and "p:ss" not in repr(target)
    plain = SmtpTarget.from_url("smtp://relay?from=a@x.org&to=b@x.org")
    assert (plain.port, plain.user, plain.starttls) == (25, None, False)
