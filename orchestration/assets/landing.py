"""What every simulated source's landing asset shares: it writes the landing zone under the
warehouse's writer lock, and a day it cannot simulate fails the step for good."""

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import AssetExecutionContext, Failure

from warehouse.lock import writer_lock
from warehouse.settings import Settings, get_settings


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
