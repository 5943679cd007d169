"""Simulated payer claim files: ``claims_{payer}/claim_lines/{arrival batch}/claims_{payer}_{YYYY-MM}.csv``.

``write_claim_files`` lands every file that arrives in a window of days (on the first simulated
day: every file that arrived on or before it), each in the batch folder of its arrival day.
All six payers send files, cigna too, although the default load configuration leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingestion.billing.simulator.lifecycle import Lifecycle
from ingestion.billing.simulator.payers import CLAIM_PAYERS
from ingestion.claims.simulator.files import ENTITY, ClaimIndex, claims_system, write_delivery
from ingestion.claims.simulator.schedule import (
    Delivery,
    add_months,
    deliveries,
    month_start,
    schema_change_month,
)
from ingestion.landing import complete_batches, extract_date_of, read_manifest

__all__ = ["ClaimBatch", "claim_batches", "planned_deliveries", "write_claim_files"]


@dataclass
class ClaimBatch:
    """A complete claims batch, as its manifest describes it."""

    folder: Path
    files: list[Path]
    rows: int
    resubmission: bool
    dirty: dict[str, int] = field(default_factory=dict)


def planned_deliveries(seed: int, history_start: date, after: date | None, day: date) -> list[Delivery]:
    """Deliveries of every payer arriving in (after, day] (``after=None``: on or before ``day``)."""
    first, last = month_start(history_start), add_months(month_start(day), -1)
    return [
        delivery
        for payer in CLAIM_PAYERS
        for delivery in deliveries(seed, payer, first, last)
        if delivery.arrival <= day and (after is None or delivery.arrival > after)
    ]


def write_claim_files(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    lives: Iterable[Lifecycle],
    history_start: date,
    after: date | None,
    day: date,
    progress: Callable[[str, int], None] | None = None,
) -> None:
    """Write the window's claim files; a payer-month with no claim lines sends no file."""
    index = ClaimIndex(lives)
    change_month = schema_change_month(history_start)
    for delivery in planned_deliveries(seed, history_start, after, day):
        rows, dirty = index.rows(seed, delivery, change_month)
        if rows:
            write_delivery(landing_root, tenant, env, seed, delivery, rows, dirty, change_month)
            if progress is not None:
                progress(f"claims {delivery.payer} {delivery.month:%Y-%m}", len(rows))


def claim_batches(
    landing_root: Path, tenant: str, env: str, after: date | None, day: date
) -> list[ClaimBatch]:
    """The complete claims batches that arrived in (after, day]."""
    batches: list[ClaimBatch] = []
    for payer in CLAIM_PAYERS:
        for folder in complete_batches(landing_root, tenant, env, claims_system(payer), ENTITY):
            arrival = extract_date_of(folder.name)
            if arrival > day or (after is not None and arrival <= after):
                continue
            manifest = read_manifest(folder)
            batches.append(
                ClaimBatch(
                    folder=folder,
                    files=[folder / name for name in manifest["files"]],
                    rows=int(manifest["lines"]),
                    resubmission=bool(manifest.get("resubmission")),
                    dirty={str(k): int(v) for k, v in manifest.get("dirty", {}).items()},
                )
            )
    return batches
