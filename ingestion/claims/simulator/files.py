"""One payer's claim file for one adjudication month, as the payer sends it.

The file for month M lists the payer's claim lines adjudicated in M (paid or denied), denials
reworked in M ('adjusted'), and lines submitted in M still unadjudicated at the month's end
('pending'). A corrected resubmission shows those pending lines as they stand on its arrival
day. bcbs changes its layout from a fixed month on: ``plan_type`` is added at the end and
``denial_reason`` becomes ``denial_reason_code``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.billing.simulator.chargemaster import unit_hash
from ingestion.billing.simulator.extracts import ACCOUNT_PREFIX, account_number, csv_bytes, format_cents
from ingestion.billing.simulator.lifecycle import Adjudication, Lifecycle
from ingestion.billing.simulator.payers import claims_folder
from ingestion.claims.simulator import dirt
from ingestion.claims.simulator.schedule import Delivery, month_end, month_start
from ingestion.ehr.simulator.identifiers import practitioner_npi
from ingestion.landing import batch_dir, batch_id_for, is_complete, write_atomic, write_manifest

ENTITY = "claim_lines"
COLUMNS = (
    "claim_id",
    "claim_line",
    "line_control_number",
    "patient_account",
    "provider_npi",
    "service_date",
    "submitted_date",
    "paid_date",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "claim_status",
    "denial_reason",
)
CHANGED_PAYER = "BCBS"
CHANGED_COLUMNS = (*COLUMNS[:-1], "denial_reason_code", "plan_type")
PLAN_TYPES = (("HMO", 0.35), ("PPO", 0.50), ("EPO", 0.15))

Row = dict[str, str]


def claims_system(payer: str) -> str:
    return f"claims_{claims_folder(payer)}"


def file_name(payer: str, month: date) -> str:
    return f"claims_{claims_folder(payer)}_{month:%Y-%m}.csv"


def delivery_folder(landing_root: Path, tenant: str, env: str, delivery: Delivery) -> Path:
    return batch_dir(
        landing_root, tenant, env, claims_system(delivery.payer), ENTITY, batch_id_for(delivery.arrival)
    )


class ClaimIndex:
    """The claim lines of every payer by the months whose files list them."""

    def __init__(self, lives: Iterable[Lifecycle]) -> None:
        self.by_month: dict[tuple[str, date], list[Lifecycle]] = defaultdict(list)
        for life in lives:
            claim = life.claim
            if claim is None:
                continue
            months = {month_start(claim.submitted), month_start(claim.decided)}
            if claim.reprocessed is not None:
                months.add(month_start(claim.reprocessed))
            for month in months:
                self.by_month[(life.charge.payer, month)].append(life)

    def rows(self, seed: int, delivery: Delivery, change_month: date) -> tuple[list[Row], Counter[str]]:
        """The file's rows (defects included, in service order) and its defect counts."""
        close = month_end(delivery.month)
        lives = sorted(
            self.by_month.get((delivery.payer, delivery.month), ()),
            key=lambda life: (
                life.charge.service_date,
                life.charge.system,
                life.charge.encounter_id,
                life.charge.line_number,
            ),
        )
        changed = delivery.payer == CHANGED_PAYER and delivery.month >= change_month
        rows: list[Row] = []
        dirty: Counter[str] = Counter()
        for life in lives:
            claim = life.claim
            assert claim is not None
            pending_at_close = month_start(claim.submitted) == delivery.month and claim.decided > close
            as_of = (delivery.as_of or close) if pending_at_close else close
            row = _row(life, claim, as_of)
            if changed:
                row["denial_reason_code"] = row.pop("denial_reason")
                row["plan_type"] = _plan_type(seed, life)
            reason, salt = dirt.claim_defect(
                seed, delivery.payer, delivery.month, delivery.dirt_key, row["claim_id"], row["claim_line"]
            )
            if reason is None:
                rows.append(row)
            elif reason == dirt.DUPLICATE_ROW:
                rows.extend((row, dict(row)))
            else:
                rows.append(dirt.break_claim(row, reason, salt))
            if reason is not None:
                dirty[reason] += 1
        return rows, dirty


def _row(life: Lifecycle, claim: Adjudication, as_of: date) -> Row:
    charge = life.charge
    status = claim.status_on(as_of)
    settled = status in ("paid", "adjusted")
    paid_date = claim.paid_on(as_of)
    return {
        "claim_id": f"{ACCOUNT_PREFIX[charge.system]}-{charge.encounter_id}",
        "claim_line": str(charge.line_number),
        "line_control_number": str(life.charge_id),
        "patient_account": account_number(charge.system, charge.patient_id),
        "provider_npi": practitioner_npi(charge.system, charge.provider_id),
        "service_date": charge.service_date.isoformat(),
        "submitted_date": claim.submitted.isoformat(),
        "paid_date": paid_date.isoformat() if paid_date else "",
        "billed_amount": format_cents(life.billed),
        "allowed_amount": format_cents(claim.allowed if settled else 0),
        "paid_amount": format_cents(claim.paid if settled else 0),
        "claim_status": status,
        "denial_reason": claim.denial_reason if status == "denied" else "",
    }


def _plan_type(seed: int, life: Lifecycle) -> str:
    """The member's plan: a pure function of the patient, so it is stable across files."""
    point = unit_hash(seed, life.charge.system, "plan", life.charge.patient_id)
    for plan, share in PLAN_TYPES:
        point -= share
        if point < 0:
            return plan
    return PLAN_TYPES[-1][0]


def write_delivery(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    delivery: Delivery,
    rows: list[Row],
    dirty: Counter[str],
    change_month: date,
) -> Path:
    """Write the file and then its manifest (skipped when the batch is already complete)."""
    folder = delivery_folder(landing_root, tenant, env, delivery)
    path = folder / file_name(delivery.payer, delivery.month)
    if is_complete(folder):
        return path
    changed = delivery.payer == CHANGED_PAYER and delivery.month >= change_month
    columns = CHANGED_COLUMNS if changed else COLUMNS
    write_atomic(path, csv_bytes(columns, rows))
    extra: dict[str, Any] = {
        "source": "claims",
        "tenant": tenant,
        "env": env,
        "system": claims_system(delivery.payer),
        "entity": ENTITY,
        "batch_id": batch_id_for(delivery.arrival),
        "arrival_date": delivery.arrival.isoformat(),
        "seed": seed,
        "format": "text/csv",
        "payer": claims_folder(delivery.payer),
        "payer_code": delivery.payer,
        "claim_month": f"{delivery.month:%Y-%m}",
        "resubmission": delivery.resubmission,
        "duplicate_delivery": delivery.duplicate,
        "columns": list(columns),
        "rows": len(rows),
        "dirty": dict(sorted(dirty.items())),
    }
    write_manifest(folder, {path.name: len(rows)}, extra)
    return path
