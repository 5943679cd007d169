"""Simulated PBM fill files and payer eligibility rosters, from the EHR landing.

- ``pharmacy_{code}/fills/{arrival batch}/pharmacy_{code}_{YYYY-MM}.csv``: a payer's fills of a month
- ``eligibility_{code}/member_months/{arrival batch}/eligibility_{code}_{YYYY-MM}.csv``: its roster

``write_pharmacy_files`` lands every file that arrives in a window of days (on the first simulated
day: every file that arrived on or before it), each in the batch folder of its arrival day, like
the payer claim files. A payer-month with no fills (or no members) sends no file.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingestion.billing.simulator.ehr_view import EhrView
from ingestion.billing.simulator.payers import CLAIM_PAYERS
from ingestion.claims.simulator.schedule import add_months, month_end, month_start
from ingestion.landing import complete_batches, extract_date_of, read_manifest
from ingestion.pharmacy.simulator import files, rows
from ingestion.pharmacy.simulator.conditions import ConditionFold, read_diagnoses
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
    *,
    conditions: Mapping[str, ConditionFold] | None = None,
    months: Container[date] | None = None,
) -> Iterator[Fill]:
    """Every fill (claimed or self-pay) of the network's patients dated history_start..until, patient
    by patient (only those of ``months``, first days, when given). The problem lists come from
    ``conditions`` (folded already) or else from the views' EHR extracts."""
    for system, view in views.items():
        if conditions is not None and system in conditions:
            diagnoses = conditions[system].diagnoses()
        else:
            diagnoses = read_diagnoses(landing_root, tenant, env, system, view.extract_dates)
        for patient, items in diagnoses.items():
            for fill in patient_fills(seed, system, patient, items, history_start, until):
                if months is None or month_start(fill.fill_date) in months:
                    yield fill


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
    *,
    conditions: Mapping[str, ConditionFold] | None = None,
) -> None:
    """Write the window's fill and eligibility files. Only the months of files to write are
    computed: fills of the fill months due, members of the eligibility months due."""
    planned = planned_deliveries(seed, history_start, after, day)
    coverages = {system: view.coverages for system, view in views.items()}
    due = [d for d in planned if files.original_content(landing_root, tenant, env, d) is None]
    fill_months = {d.month for d in due if d.entity == FILLS}
    by_fill_month: dict[tuple[str, date], list[Fill]] = {}
    if fill_months:
        until = month_end(add_months(month_start(day), -1))
        fills = network_fills(
            landing_root,
            tenant,
            env,
            seed,
            views,
            history_start,
            until,
            conditions=conditions,
            months=fill_months,
        )
        by_fill_month = rows.fills_by_payer_month(fills, coverages)
    member_months = sorted(d.month for d in due if d.entity == MEMBER_MONTHS)
    members: dict[tuple[str, date], set[tuple[str, int]]] = {}
    if member_months:
        members = rows.members_by_payer_month(
            coverages, max(month_start(history_start), member_months[0]), member_months[-1]
        )
    for delivery in planned:
        content = files.original_content(landing_root, tenant, env, delivery)
        if content is None and delivery.entity == FILLS:
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
