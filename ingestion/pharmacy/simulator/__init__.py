"""Simulated PBM fill files and payer eligibility rosters, from the EHR landing.

- ``pharmacy_{code}/fills/{arrival batch}/pharmacy_{code}_{YYYY-MM}.csv``: a payer's fills of a month
- ``eligibility_{code}/member_months/{arrival batch}/eligibility_{code}_{YYYY-MM}.csv``: its roster

``write_pharmacy_files`` lands every file that arrives in a window of days (on the first simulated
day: every file that arrived on or before it), each in the batch folder of its arrival day, like
the payer claim files. A payer-month with no fills (or no members) sends no file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingestion.billing.simulator.ehr_view import EhrView
from ingestion.billing.simulator.payers import CLAIM_PAYERS
from ingestion.claims.simulator.schedule import add_months, month_end, month_start
from ingestion.landing import complete_batches, extract_date_of, read_manifest
from ingestion.pharmacy.simulator import files, rows
from ingestion.pharmacy.simulator.conditions import read_diagnoses
from ingestion.pharmacy.simulator.fills import Fill, patient_fills
from ingestion.pharmacy.simulator.schedule import FILLS, MEMBER_MONTHS, planned_deliveries

__all__ = [
    "FILLS",
    "MEMBER_MONTHS",
    "PharmacyBatch",
    "network_fills",
    "pharmacy_batches",
    "write_pharmacy_files",
]


@dataclass
class PharmacyBatch:
    """A complete pharmacy or eligibility batch, as its manifest describes it."""

    folder: Path
    entity: str  # fills | member_months
    files: list[Path]
    rows: int
    duplicate: bool
    dirty: dict[str, int] = field(default_factory=dict)


def network_fills(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    views: Mapping[str, EhrView],
    history_start: date,
    until: date,
) -> list[Fill]:
    """Every fill (claimed or self-pay) of the network's patients dated history_start..until."""
    fills: list[Fill] = []
    for system, view in views.items():
        diagnoses = read_diagnoses(landing_root, tenant, env, system, view.extract_dates)
        for patient, items in diagnoses.items():
            fills.extend(patient_fills(seed, system, patient, items, history_start, until))
    return fills


def write_pharmacy_files(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    views: Mapping[str, EhrView],
    history_start: date,
    after: date | None,
    day: date,
    progress: Callable[[str, int], None] | None = None,
) -> None:
    """Write the window's fill and eligibility files."""
    planned = planned_deliveries(seed, history_start, after, day)
    coverages = {system: view.coverages for system, view in views.items()}
    by_fill_month: dict[tuple[str, date], list[Fill]] | None = None  # built only when needed
    members = rows.members_by_payer_month(coverages, month_start(history_start), month_start(day))
    for delivery in planned:
        content = files.original_content(landing_root, tenant, env, delivery)
        if content is None and delivery.entity == FILLS:
            if by_fill_month is None:
                until = month_end(add_months(month_start(day), -1))
                fills = network_fills(landing_root, tenant, env, seed, views, history_start, until)
                by_fill_month = rows.fills_by_payer_month(fills, coverages)
            found = by_fill_month.get((delivery.payer, delivery.month), [])
            content = files.encode(FILLS, *rows.fill_rows(seed, delivery.payer, delivery.month, found))
        elif content is None:
            listed = members.get((delivery.payer, delivery.month), set())
            content = files.encode(
                MEMBER_MONTHS, *rows.member_rows(seed, delivery.payer, delivery.month, listed)
            )
        if content[2]:
            files.write_delivery(landing_root, tenant, env, seed, delivery, content)
            if progress is not None:
                progress(
                    f"{files.source_of(delivery.entity)} {delivery.payer} {delivery.month:%Y-%m}", content[2]
                )


def pharmacy_batches(
    landing_root: Path, tenant: str, env: str, after: date | None, day: date
) -> list[PharmacyBatch]:
    """The complete fill and eligibility batches that arrived in (after, day]."""
    batches: list[PharmacyBatch] = []
    for entity in (FILLS, MEMBER_MONTHS):
        for payer in CLAIM_PAYERS:
            system = files.system_of(entity, payer)
            for folder in complete_batches(landing_root, tenant, env, system, entity):
                arrival = extract_date_of(folder.name)
                if arrival > day or (after is not None and arrival <= after):
                    continue
                manifest = read_manifest(folder)
                batches.append(
                    PharmacyBatch(
                        folder=folder,
                        entity=entity,
                        files=[folder / name for name in manifest["files"]],
                        rows=int(manifest["lines"]),
                        duplicate=bool(manifest.get("duplicate_delivery")),
                        dirty={str(k): int(v) for k, v in manifest.get("dirty", {}).items()},
                    )
                )
    return batches
