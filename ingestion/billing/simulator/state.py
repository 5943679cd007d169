"""The revenue-cycle simulator's own state, so that a day reads only the EHR extracts that are new.

After a day has landed, the simulator saves what it folded of each EHR system's landing (the
billing view: coverages, roster, billable encounters, procedures seen; the problem list the PBM
simulation needs) and the charge lines whose revenue cycle can still land something: a posting
after that day, or a claim month whose payer file has not arrived yet. The next day restores the
state of the previous billing day and folds only the extracts dated after it, which lands the
same bytes as folding the whole landing (tests/unit/test_revenue_state.py).

The state lives beside the landing it describes,
``{landing}/{tenant}/{env}/.simulator_state/revenue_cycle/{batch_id}.json.gz`` (a dot folder: no
loader or landing audit looks there). A state that is missing, unreadable, of another seed or
version, or that does not match the extracts on disk is ignored: the day then folds the whole
landing, as the first day does. The newest few states are kept, so rerunning one of the last days
stays incremental.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.billing.simulator.ehr_view import ChargeFacts, EhrReader
from ingestion.billing.simulator.lifecycle import Lifecycle
from ingestion.billing.simulator.payers import CLAIM_PAYERS
from ingestion.claims.simulator.schedule import deliveries, month_start
from ingestion.landing import batch_id_for, extract_date_of, write_atomic
from ingestion.pharmacy.simulator.conditions import ConditionFold

STATE_FOLDER = ".simulator_state"
NAME = "revenue_cycle"
VERSION = 1
KEPT = 3  # the newest states kept


@dataclass
class SystemState:
    """One EHR system, folded up to (and including) its extracts of ``extract_dates``."""

    extract_dates: list[date]
    reader: EhrReader
    conditions: ConditionFold
    open_charges: list[ChargeFacts]  # charges of earlier folds that can still land something


def state_folder(landing_root: Path, tenant: str, env: str) -> Path:
    return landing_root / tenant / env / STATE_FOLDER / NAME


def state_path(landing_root: Path, tenant: str, env: str, day: date) -> Path:
    return state_folder(landing_root, tenant, env) / f"{batch_id_for(day)}.json.gz"


def fresh_state(system: str, seed: int) -> SystemState:
    return SystemState([], EhrReader(system, seed), ConditionFold(), [])


def load_state(landing_root: Path, tenant: str, env: str, seed: int, day: date) -> dict[str, SystemState]:
    """The systems' states saved after ``day`` (empty when there is no usable one)."""
    path = state_path(landing_root, tenant, env, day)
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError, EOFError):
        return {}
    if not isinstance(data, dict) or (data.get("version"), data.get("seed"), data.get("day")) != (
        VERSION,
        seed,
        day.isoformat(),
    ):
        return {}
    states: dict[str, SystemState] = {}
    for system, saved in data["systems"].items():
        state = fresh_state(system, seed)
        state.extract_dates = [date.fromisoformat(d) for d in saved["extract_dates"]]
        state.reader.restore(saved["reader"])
        state.conditions.restore(saved["conditions"])
        state.open_charges = [_charge(system, row) for row in saved["open_charges"]]
        states[system] = state
    return states


def save_state(
    landing_root: Path, tenant: str, env: str, seed: int, day: date, states: dict[str, SystemState]
) -> Path:
    """Save the states after ``day`` (atomically) and drop all but the newest few."""
    data = {
        "version": VERSION,
        "seed": seed,
        "day": day.isoformat(),
        "systems": {
            system: {
                "extract_dates": [d.isoformat() for d in state.extract_dates],
                "reader": state.reader.state(),
                "conditions": state.conditions.state(),
                "open_charges": [_charge_row(charge) for charge in state.open_charges],
            }
            for system, state in sorted(states.items())
        },
    }
    path = state_path(landing_root, tenant, env, day)
    write_atomic(path, gzip.compress(json.dumps(data, separators=(",", ":")).encode(), compresslevel=1))
    saved = sorted(state_folder(landing_root, tenant, env).glob("*.json.gz"))
    for old in saved[:-KEPT]:
        old.unlink(missing_ok=True)
    return path


def saved_days(landing_root: Path, tenant: str, env: str) -> list[date]:
    """The days with a saved state, ascending."""
    days: list[date] = []
    for path in state_folder(landing_root, tenant, env).glob("*.json.gz"):
        try:
            days.append(extract_date_of(path.name.removesuffix(".json.gz")))
        except ValueError:
            continue
    return sorted(days)


def _charge_row(charge: ChargeFacts) -> list[Any]:
    return [
        charge.procedure_id,
        charge.encounter_id,
        charge.line_number,
        charge.patient_id,
        charge.cpt,
        charge.service_date.toordinal(),
        charge.known.toordinal(),
        charge.provider_id,
        charge.hospital,
        charge.dept_code,
        charge.payer,
    ]


def _charge(system: str, row: list[Any]) -> ChargeFacts:
    procedure, encounter, line, patient, cpt, service, known, provider, hospital, dept, payer = row
    return ChargeFacts(
        system=system,
        procedure_id=procedure,
        encounter_id=encounter,
        line_number=line,
        patient_id=patient,
        cpt=cpt,
        service_date=date.fromordinal(service),
        known=date.fromordinal(known),
        provider_id=provider,
        hospital=hospital,
        dept_code=dept,
        payer=payer,
    )


def claim_months(life: Lifecycle) -> set[date]:
    """The claim months whose payer files list the charge's claim line (none for self-pay)."""
    claim = life.claim
    if claim is None:
        return set()
    months = {month_start(claim.submitted), month_start(claim.decided)}
    if claim.reprocessed is not None:
        months.add(month_start(claim.reprocessed))
    return months


def open_charges(seed: int, lives: Iterable[Lifecycle], history_start: date, day: date) -> list[ChargeFacts]:
    """The charges that can still land something after ``day``: a posting dated later, or a claim
    month with a payer file (first, duplicate or resubmission) arriving later."""
    lives = list(lives)
    first = month_start(history_start)
    needed = [month for life in lives for month in claim_months(life)]
    last_arrival: dict[tuple[str, date], date] = {}
    if needed:
        for payer in CLAIM_PAYERS:
            for delivery in deliveries(seed, payer, first, max(needed)):
                key = (payer, delivery.month)
                last_arrival[key] = max(last_arrival.get(key, delivery.arrival), delivery.arrival)
    kept: list[ChargeFacts] = []
    for life in lives:
        if any(posting.day > day for posting in life.postings) or any(
            last_arrival.get((life.charge.payer, month), date.min) > day for month in claim_months(life)
        ):
            kept.append(life.charge)
    return kept
