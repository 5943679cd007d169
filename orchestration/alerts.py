"""Alerts for failed runs and failed blocking asset checks, to a webhook and/or by email.

:func:`alert_on_run` alerts one finished run, at most once: it tags the run
(``carehouse/alerted``) before sending, so the callers below may overlap freely.

- ``run_failure_alert_sensor``: runs that the daemon launched and that failed;
- ``blocking_check_alert_sensor``: finished runs with a failed blocking (ERROR) check, whoever
  launched them (a step retry can pass after its check failed, and ``carehouse run`` executes in
  its own process, outside the daemon's view of run failures);
- ``carehouse run`` calls :func:`alert_on_run` itself when its run ends.

Settings (environment; neither set means no alerts):

- ``CAREHOUSE_ALERT_WEBHOOK``: an ``http(s)://`` URL that receives a JSON POST (its ``text``
  field makes it a valid Slack or Mattermost incoming-webhook message as is);
- ``CAREHOUSE_ALERT_SMTP``:
  ``smtp://[user[:password]@]host[:port]?from=sender&to=a@x[,b@y][&starttls=true]``
  (port 25 unless given; user and password percent-encoded).

An alert holds names and counts only (run id, job, status, step keys, check names): never
data, never error messages, which may quote rows (PHI). Delivery problems are logged as one
warning line and never fail the run or the sensor tick.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)

from warehouse.settings import get_settings

log = logging.getLogger(__name__)

ENV_ALERT_WEBHOOK = "CAREHOUSE_ALERT_WEBHOOK"
ENV_ALERT_SMTP = "CAREHOUSE_ALERT_SMTP"
ALERTED_TAG = "carehouse/alerted"
TIMEOUT_S = 10  # a slow receiver must not hold a sensor tick or the end of a run for long
CHECK_SENSOR_INTERVAL_S = 60
_FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]


class AlertConfigError(ValueError):
    """An alert setting that cannot be used (one-line message, never carrying a password)."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme != "smtp" or not parts.hostname:
            raise AlertConfigError(f"{ENV_ALERT_SMTP} must be an smtp://[user[:password]@]host[:port] URL")
        query = parse_qs(parts.query)
        sender = (query.get("from") or [""])[0].strip()
        recipients = tuple(a.strip() for v in query.get("to", []) for a in v.split(",") if a.strip())
        if not sender or not recipients:
            raise AlertConfigError(f"{ENV_ALERT_SMTP} needs ?from=<address>&to=<address>[,<address>]")
        try:
            port = parts.port or 25
        except ValueError:
            raise AlertConfigError(f"{ENV_ALERT_SMTP} has an invalid port") from None
        starttls = (query.get("starttls") or ["false"])[0].lower() in ("1", "true", "yes")
        return cls(
            host=parts.hostname,
            port=port,
            sender=sender,
            recipients=recipients,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            starttls=starttls,
        )


@dataclass(frozen=True)
class RunAlert:
    """What an alert says about one run: identifiers, names and counts, nothing else."""

    run_id: str
    job: str
    status: str
    failed_steps: tuple[str, ...]
    failed_checks: tuple[str, ...]

    @property
    def link(self) -> str:
        """Path of the run in the Dagster UI (``carehouse ui``)."""
        return f"/runs/{self.run_id}"

    @property
    def summary(self) -> str:
        steps, checks = len(self.failed_steps), len(self.failed_checks)
        return (
            f"carehouse: {self.job} run {self.run_id[:8]} {self.status}:"
            f" {steps} failed step(s), {checks} failed blocking check(s)"
        )

    def as_json(self) -> dict[str, object]:
        settings = get_settings()
        return {
            "text": f"{self.summary} ({self.link})",
            "run_id": self.run_id,
            "job": self.job,
            "status": self.status,
            "failed_steps": list(self.failed_steps),
            "failed_checks": list(self.failed_checks),
            "link": self.link,
            "tenant": settings.tenant,
            "environment": settings.environment,
        }

    def email(self, target: SmtpTarget) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = self.summary
        message["From"] = target.sender
        message["To"] = ", ".join(target.recipients)
        lines = [self.summary, "", f"Run: {self.run_id}", f"Job: {self.job}", f"Status: {self.status}"]
        lines += ["", "Failed steps:", *(f"  {s}" for s in self.failed_steps or ["(none)"])]
        lines += ["", "Failed blocking checks:", *(f"  {c}" for c in self.failed_checks or ["(none)"])]
        lines += ["", f"In the Dagster UI: {self.link}"]
        message.set_content("\n".join(lines) + "\n")
        return message


def _failed_blocking(evaluation: AssetCheckEvaluation) -> bool:
    """Dagster's own rule for a check that stops its step (see dagster's execute_step)."""
    failed_error = not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    return failed_error and bool(evaluation.blocking)


def run_alert(instance: DagsterInstance, run_id: str) -> RunAlert | None:
    """The alert a finished run deserves (failed, or a blocking check failed), or None."""
    run = instance.get_run_by_id(run_id)
    if run is None or not run.is_finished:
        return None
    steps: set[str] = set()
    checks: set[str] = set()
    kinds = {DagsterEventType.STEP_FAILURE, DagsterEventType.ASSET_CHECK_EVALUATION}
    for entry in instance.all_logs(run_id, of_type=kinds):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_FAILURE and event.step_key:
            steps.add(event.step_key)
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.asset_check_evaluation_data
            if _failed_blocking(data):
                checks.add(AssetCheckKey(data.asset_key, data.check_name).to_user_string())
    if run.status != DagsterRunStatus.FAILURE and not checks:
        return None
    return RunAlert(run_id, run.job_name, run.status.value, tuple(sorted(steps)), tuple(sorted(checks)))


def _post_webhook(url: str, alert: RunAlert) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise AlertConfigError(f"{ENV_ALERT_WEBHOOK} must be an http(s):// URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(alert.as_json()).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        response.read()


def _send_email(url: str, alert: RunAlert) -> None:
    target = SmtpTarget.from_url(url)
    with smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_S) as smtp:
        smtp.ehlo()
        if target.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if target.user:
            smtp.login(target.user, target.password or "")
        smtp.send_message(alert.email(target))


def _where(url: str) -> str:
    """Scheme, host and port only: webhook paths and SMTP URLs carry secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def configured_channels() -> dict[str, str]:
    """{"webhook" | "email": setting} for the alert settings that are set (read at each call)."""
    settings = {"webhook": ENV_ALERT_WEBHOOK, "email": ENV_ALERT_SMTP}
    return {name: value for name, var in settings.items() if (value := os.environ.get(var, "").strip())}


def alert_on_run(instance: DagsterInstance, run_id: str) -> RunAlert | None:
    """Send the alert of a finished run that failed or whose blocking checks failed, once.

    Returns the alert when one was due and alert settings exist (whether or not delivery
    worked), None otherwise. Never raises for delivery or settings problems."""
    channels = configured_channels()
    if not channels:
        return None
    run = instance.get_run_by_id(run_id)
    if run is None or ALERTED_TAG in run.tags:
        return None
    alert = run_alert(instance, run_id)
    if alert is None:
        return None
    # tagged before sending: a run is never alerted twice, even by callers racing each other
    instance.add_run_tags(run_id, {ALERTED_TAG: ",".join(sorted(channels))})
    senders = {"webhook": _post_webhook, "email": _send_email}
    for name, url in channels.items():
        try:
            senders[name](url, alert)
        except Exception as exc:  # whatever goes wrong, an alert never fails the run or the tick
            log.warning(
                "carehouse alert for run %s not sent by %s to %s: %s", run_id, name, _where(url), _reason(exc)
            )
    return alert


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, AlertConfigError) else type(exc).__name__


@run_failure_sensor(
    default_status=DefaultSensorStatus.RUNNING,
    description="Alerts (CAREHOUSE_ALERT_WEBHOOK / CAREHOUSE_ALERT_SMTP) when a run fails.",
)
def run_failure_alert_sensor(context: RunFailureSensorContext) -> None:
    alert_on_run(context.instance, context.dagster_run.run_id)


@sensor(
    minimum_interval_seconds=CHECK_SENSOR_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Alerts when a blocking (ERROR) asset check failed in a finished run.",
)
def blocking_check_alert_sensor(context: SensorEvaluationContext) -> SensorResult:
    """The cursor is the update time of the last finished run looked at.

    Not an event storage id: carehouse's Dagster storage is SQLite, whose event log is sharded
    per run, so storage ids are not comparable across runs. Run update times are, and a run's
    check evaluations are read from its own event log once it has finished. On the first tick
    the cursor starts now: turning alerts on does not alert the past."""
    now = datetime.now(UTC)
    if not context.cursor:
        return SensorResult(skip_reason="alerts start from now", cursor=now.isoformat())
    if not configured_channels():
        return SensorResult(skip_reason="no alert settings", cursor=now.isoformat())
    after = datetime.fromisoformat(context.cursor)
    records = context.instance.get_run_records(
        filters=RunsFilter(statuses=_FINISHED, updated_after=after),
        order_by="update_timestamp",
        ascending=True,
    )
    alerted = []
    for record in records:
        after = max(after, record.update_timestamp)
        due = run_alert(context.instance, record.dagster_run.run_id)
        # failed runs without a failed check are the run failure sensor's (or carehouse run's)
        if due is not None and due.failed_checks and alert_on_run(context.instance, due.run_id):
            alerted.append(due.run_id)
    message = f"alerted {len(alerted)} run(s)" if alerted else "no new failed blocking checks"
    return SensorResult(skip_reason=message, cursor=after.isoformat())
