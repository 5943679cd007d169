"""What every simulated source's landing asset shares: the day it simulates (``DayConfig``), and
writing the landing zone under the warehouse's writer lock, where a day it cannot simulate fails
the step for good."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from dagster import AssetExecutionContext, Config, Failure
from pydantic import Field

from warehouse.lock import writer_lock
from warehouse.settings import Settings, get_settings


class DayConfig(Config):
    """Which day a simulated source system sends (``orchestration.jobs.extract_run_config``
    gives every landing asset the same day and seed)."""

    extract_date: str = Field(default="", description="YYYY-MM-DD; empty means today (UTC)")
    seed: int = Field(default=42, description="same seed and day give byte-identical files")

    def resolved_date(self) -> date:
        return date.fromisoformat(self.extract_date) if self.extract_date else datetime.now(UTC).date()


@contextmanager
def simulator_step(context: AssetExecutionContext, purpose: str) -> Iterator[Settings]:
    """The settings to simulate with, inside the writer lock. A simulator raises ``ValueError``
    for a day it cannot produce (before the last extract, before the feed's first day, no EHR
    extract yet): retrying cannot help, so the step fails without retries."""
    settings = get_settings()
    try:
        with writer_lock(settings, purpose, on_wait=context.log.info):
            yield settings
    except ValueError as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc
