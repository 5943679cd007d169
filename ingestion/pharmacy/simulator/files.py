"""Writing one delivery: its CSV, then its manifest (which makes the batch visible to loaders)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.billing.simulator.extracts import csv_bytes
from ingestion.billing.simulator.payers import claims_folder
from ingestion.landing import (
    batch_dir,
    batch_id_for,
    is_complete,
    read_manifest,
    write_atomic,
    write_manifest,
)
from ingestion.pharmacy.simulator.rows import FILL_COLUMNS, MEMBER_COLUMNS, Row
from ingestion.pharmacy.simulator.schedule import FILLS, Delivery

SOURCE = {FILLS: "pharmacy"}  # member_months: eligibility


def source_of(entity: str) -> str:
    return SOURCE.get(entity, "eligibility")


def system_of(entity: str, payer: str) -> str:
    """The landing folder: ``pharmacy_{code}`` or ``eligibility_{code}``."""
    return f"{source_of(entity)}_{claims_folder(payer)}"


def file_name(delivery: Delivery) -> str:
    return f"{system_of(delivery.entity, delivery.payer)}_{delivery.month:%Y-%m}.csv"


def delivery_folder(
    landing_root: Path, tenant: str, env: str, delivery: Delivery, arrival: date | None = None
) -> Path:
    system = system_of(delivery.entity, delivery.payer)
    return batch_dir(
        landing_root, tenant, env, system, delivery.entity, batch_id_for(arrival or delivery.arrival)
    )


def original_content(
    landing_root: Path, tenant: str, env: str, delivery: Delivery
) -> tuple[bytes, Counter[str], int] | None:
    """A duplicate's bytes, dirt and rows: those of the month's first delivery, when it has landed."""
    if not delivery.duplicate or delivery.content_key is None:
        return None
    folder = delivery_folder(landing_root, tenant, env, delivery, delivery.content_key)
    if not is_complete(folder):
        return None
    manifest = read_manifest(folder)
    data = (folder / file_name(delivery)).read_bytes()
    return data, Counter(manifest.get("dirty", {})), int(manifest["lines"])


def write_delivery(
    landing_root: Path,
    tenant: str,
    env: str,
    seed: int,
    delivery: Delivery,
    content: tuple[bytes, Counter[str], int],
) -> Path:
    """Write the file and then its manifest (skipped when the batch is already complete)."""
    folder = delivery_folder(landing_root, tenant, env, delivery)
    path = folder / file_name(delivery)
    if is_complete(folder):
        return path
    data, dirty, rows = content
    write_atomic(path, data)
    fills = delivery.entity == FILLS
    extra: dict[str, Any] = {
        "source": source_of(delivery.entity),
        "tenant": tenant,
        "env": env,
        "system": system_of(delivery.entity, delivery.payer),
        "entity": delivery.entity,
        "batch_id": batch_id_for(delivery.arrival),
        "arrival_date": delivery.arrival.isoformat(),
        "seed": seed,
        "format": "text/csv",
        "payer": claims_folder(delivery.payer),
        "payer_code": delivery.payer,
        "fill_month" if fills else "eligibility_month": f"{delivery.month:%Y-%m}",
        "duplicate_delivery": delivery.duplicate,
        "columns": list(FILL_COLUMNS if fills else MEMBER_COLUMNS),
        "rows": rows,
        "dirty": dict(sorted(dirty.items())),
    }
    write_manifest(folder, {path.name: rows}, extra)
    return path


def encode(entity: str, rows: list[Row], dirty: Counter[str]) -> tuple[bytes, Counter[str], int]:
    return csv_bytes(FILL_COLUMNS if entity == FILLS else MEMBER_COLUMNS, rows), dirty, len(rows)
