"""``simulate_revenue_cycle_day``: one day of the billing extracts and of the payers' files.

Per billing system (one per EHR vendor) the day lands full department and provider extracts
and the transactions posted since the system's previous extract (on its first day: its whole
history). The payers' claim, pharmacy (PBM fill) and eligibility files that arrived since the
previous simulated day land in the batch folders of their arrival days. Those are written first
and each system's transactions manifest last: it marks the day done, so a crashed day is simply
run again, and a finished day returns what its manifests say without writing anything.

A day reads only the EHR extracts that are new since the previous billing day: the simulator
saves what it folded of the EHR landing (``state``) after each day and continues from it, which
lands the same bytes as reading the whole landing again.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ingestion.billing.simulator import extracts, state
from ingestion.billing.simulator.departments import system_departments
from ingestion.billing.simulator.ehr_view import EhrView, ehr_extract_dates
from ingestion.billing.simulator.lifecycle import Lifecycle, lifecycle
from ingestion.claims.simulator import claim_batches, write_claim_files
from ingestion.ehr.resources import EHR_SYSTEMS
from ingestion.ehr.simulator.visits import HISTORY_DAYS
from ingestion.landing import complete_batches, extract_date_of, is_complete, read_manifest
from ingestion.pharmacy.simulator import FILLS, MEMBER_MONTHS, pharmacy_batches, write_pharmacy_files

Progress = Callable[[str, int], None]
TRANSACTIONS = "transactions"


@dataclass
class RevenueCycleSimulationResult:
    """What a day landed (or, for a day already done, what its manifests say it landed)."""

    day: date
    kind_by_system: dict[str, str]  # vendor (athena, epic) -> 'initial' | 'incremental'
    files: list[Path]
    rows_by_entity: dict[str, int]  # departments, providers, transactions, claim_lines, fills, member_months
    dirty_by_reason: dict[str, int] = field(default_factory=dict)  # billing, claims, pharmacy, summed
    claim_files: int = 0
    resubmitted_claim_files: int = 0
    pharmacy_files: int = 0  # fill files, duplicate deliveries included
    eligibility_files: int = 0


def simulate_revenue_cycle_day(
    landing_root: Path,
    *,
    day: date,
    seed: int = 42,
    tenant: str = "carehouse",
    env: str = "dev",
    progress: Progress | None = None,
) -> RevenueCycleSimulationResult:
    """Land the billing extracts and claim files of ``day``; same inputs give byte-identical files."""
    systems = [s for s in EHR_SYSTEMS if ehr_extract_dates(landing_root, tenant, env, s, day)]
    if not systems:
        raise ValueError(
            f"the EHR landing in {landing_root / tenant / env} holds no complete extract on or before "
            f"{day}: run `carehouse simulate ehr` first"
        )
    if not all(is_complete(_transactions_folder(landing_root, tenant, env, s, day)) for s in systems):
        later = [d for s in systems for d in _billing_days(landing_root, tenant, env, s) if d > day]
        if later:
            raise ValueError(
                f"billing extracts of later days ({max(later)}) exist; {day} cannot be added before them"
            )
        _simulate(landing_root, tenant, env, seed, day, systems, progress)
    return _result(landing_root, tenant, env, day, systems)


def _transactions_folder(landing_root: Path, tenant: str, env: str, system: str, day: date) -> Path:
    return extracts.extract_folder(landing_root, tenant, env, system, TRANSACTIONS, day)


def _billing_days(landing_root: Path, tenant: str, env: str, system: str) -> list[date]:
    folders = complete_batches(landing_root, tenant, env, extracts.billing_system(system), TRANSACTIONS)
    return [extract_date_of(folder.name) for folder in folders]


def _previous_day(landing_root: Path, tenant: str, env: str, systems: list[str], day: date) -> date | None:
    earlier = [d for s in systems for d in _billing_days(landing_root, tenant, env, s) if d < day]
    return max(earlier, default=None)


def _history_start(views: dict[str, EhrView]) -> date:
    """The first day of the EHR's initial history: where claim months and the bcbs schema clock start."""
    return min(view.extract_dates[0] for view in views.values()) - timedelta(days=HISTORY_DAYS - 1)


def _simulate(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    day: date,
    systems: list[str],
    progress: Progress | None,
) -> None:
    after = _previous_day(landing_root, tenant, env, systems, day)
    saved = state.load_state(landing_root, tenant, env, seed, after) if after is not None else {}
    folded = {
        s: _fold(landing_root, tenant, env, seed, s, day, after, saved.get(s))
        if _previous_day(landing_root, tenant, env, [s], day) == after
        else _fold(landing_root, tenant, env, seed, s, day, None, None)
        for s in systems
    }
    views = {s: folded[s].reader.view(folded[s].extract_dates, folded[s].open_charges) for s in systems}
    lives = {s: [lifecycle(seed, charge) for charge in views[s].charges] for s in systems}
    history_start = _history_start(views)
    write_claim_files(
        landing_root, tenant, env, seed, itertools.chain(*lives.values()), history_start, after, day, progress
    )
    conditions = {s: folded[s].conditions for s in systems}
    write_pharmacy_files(
        landing_root, tenant, env, seed, views, history_start, after, day, progress, conditions=conditions
    )
    modified = datetime.combine(history_start, time(6), tzinfo=UTC)
    for system in systems:
        _write_system(landing_root, tenant, env, seed, day, views[system], lives[system], modified, progress)
    for system in systems:
        folded[system].open_charges = state.open_charges(seed, lives[system], history_start, day)
    state.save_state(landing_root, tenant, env, seed, day, folded)


def _fold(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    system: str,
    day: date,
    after: date | None,
    saved: state.SystemState | None,
) -> state.SystemState:
    """The system's EHR landing folded up to ``day``: the saved state of the previous day plus the
    extracts dated after it, or (no usable state) every extract."""
    dates = ehr_extract_dates(landing_root, tenant, env, system, day)
    if saved is None or after is None or saved.extract_dates != [d for d in dates if d <= after]:
        saved = state.fresh_state(system, seed)
    for extract in dates[len(saved.extract_dates) :]:
        saved.reader.read_extract(landing_root, tenant, env, extract)
        saved.conditions.read_extract(landing_root, tenant, env, system, extract)
    saved.extract_dates = dates
    return saved


def _write_system(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    day: date,
    view: EhrView,
    lives: list[Lifecycle],
    departments_modified: datetime,
    progress: Progress | None,
) -> None:
    system = view.system
    departments = system_departments(system)
    after = _previous_day(landing_root, tenant, env, [system], day)
    base: dict[str, Any] = {
        "source": "billing",
        "tenant": tenant,
        "env": env,
        "system": extracts.billing_system(system),
        "vendor": system,
        "extract_date": day.isoformat(),
        "seed": seed,
        "format": "text/csv",
    }
    providers, npi_dirt = extracts.provider_rows(seed, system, view.providers, departments)
    postings = (
        (life, posting)
        for life in lives
        for posting in life.postings
        if posting.day <= day and (after is None or posting.day > after)
    )
    transactions, dirt = extracts.transaction_rows(seed, system, postings, departments)
    outputs = (
        (
            "departments",
            extracts.DEPARTMENT_COLUMNS,
            extracts.department_rows(departments, departments_modified),
            Counter(),
            "full",
        ),
        ("providers", extracts.PROVIDER_COLUMNS, providers, npi_dirt, "full"),
        (
            TRANSACTIONS,
            extracts.TRANSACTION_COLUMNS,
            transactions,
            dirt,
            "initial" if after is None else "incremental",
        ),
    )
    for entity, columns, rows, dirty, kind in outputs:  # transactions last: its manifest marks the day done
        folder = extracts.extract_folder(landing_root, tenant, env, system, entity, day)
        if is_complete(folder):
            continue
        extra = {**base, "entity": entity, "batch_id": folder.name, "kind": kind}
        if entity == TRANSACTIONS:
            extra["posted_after"] = after.isoformat() if after else None
        count = extracts.write_extract(folder, entity, columns, rows, extra, dirty)
        if progress is not None:
            progress(f"billing {system} {entity}", count)


def _result(
    landing_root: Path, tenant: str, env: str, day: date, systems: list[str]
) -> RevenueCycleSimulationResult:
    files: list[Path] = []
    rows: Counter[str] = Counter()
    dirty: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    for system in systems:
        for entity in extracts.ENTITIES:
            folder = extracts.extract_folder(landing_root, tenant, env, system, entity, day)
            manifest = read_manifest(folder)
            files.extend(folder / name for name in manifest["files"])
            rows[entity] += int(manifest["lines"])
            dirty.update(manifest.get("dirty", {}))
            if entity == TRANSACTIONS:
                kinds[system] = str(manifest["kind"])
    after = _previous_day(landing_root, tenant, env, systems, day)
    batches = claim_batches(landing_root, tenant, env, after, day)
    for batch in batches:
        files.extend(batch.files)
        rows["claim_lines"] += batch.rows
        dirty.update(batch.dirty)
    pharmacy = pharmacy_batches(landing_root, tenant, env, after, day)
    for batch in pharmacy:
        files.extend(batch.files)
        rows[batch.entity] += batch.rows
        dirty.update(batch.dirty)
    return RevenueCycleSimulationResult(
        day=day,
        kind_by_system=kinds,
        files=sorted(files),
        rows_by_entity={
            entity: rows[entity] for entity in (*extracts.ENTITIES, "claim_lines", FILLS, MEMBER_MONTHS)
        },
        dirty_by_reason=dict(sorted(dirty.items())),
        claim_files=len(batches),
        resubmitted_claim_files=sum(batch.resubmission for batch in batches),
        pharmacy_files=sum(batch.entity == FILLS for batch in pharmacy),
        eligibility_files=sum(batch.entity == MEMBER_MONTHS for batch in pharmacy),
    )
