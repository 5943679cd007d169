"""The billing systems' CSV extracts: departments, providers (full) and transactions (incremental).

Layout ``{landing}/{tenant}/{env}/billing_{system}/{entity}/{batch_id}/{entity}.csv`` plus a
manifest written last. Dates follow each vendor's habit (athena ISO, epic MM/DD/YYYY);
``modified_at`` is an ISO-8601 UTC audit stamp in both.
"""

from __future__ import annotations

import csv
import io
import operator
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ingestion.billing.simulator import dirt
from ingestion.billing.simulator.chargemaster import unit_hash
from ingestion.billing.simulator.departments import Department
from ingestion.billing.simulator.ehr_view import ProviderFacts
from ingestion.billing.simulator.lifecycle import CHARGE, SLOT_CHARGE, SLOT_MISKEYED, Lifecycle, Posting
from ingestion.ehr.simulator.clock import local_instant
from ingestion.ehr.simulator.identifiers import practitioner_npi
from ingestion.landing import batch_dir, batch_id_for, temp_path_for, write_manifest

ENTITIES = ("departments", "providers", "transactions")
DEPARTMENT_COLUMNS = ("dept_id", "dept_name", "hospital_id", "department_code", "modified_at")
PROVIDER_COLUMNS = ("provider_id", "first_name", "last_name", "npi", "dept_id", "specialty", "modified_at")
TRANSACTION_COLUMNS = (
    "transaction_id",
    "account_number",
    "patient_id",
    "encounter_id",
    "charge_id",
    "line_number",
    "transaction_type",
    "cpt_code",
    "service_date",
    "posting_date",
    "amount",
    "payer_code",
    "payment_source",
    "provider_id",
    "dept_id",
    "modified_at",
)
ACCOUNT_PREFIX = {"athena": "ATH", "epic": "EPC"}
# Specialty -> the department a provider belongs to; several specialties work in more than one.
SPECIALTY_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Emergency Medicine": ("EMR",),
    "Cardiovascular Disease": ("CAR",),
    "Obstetrics & Gynecology": ("MAT",),
    "Pediatrics": ("PED",),
    "Orthopaedic Surgery": ("SUR",),
    "Surgery": ("SUR",),
    "Plastic and Reconstructive Surgery": ("SUR",),
    "Family Medicine": ("CAR", "PED", "ONC"),
    "Internal Medicine": ("CAR", "ONC", "ICU"),
    "Psychiatry": ("ICU", "EMR"),
    "Diagnostic Radiology": ("ONC", "EMR"),
}
ALL_DEPARTMENTS = ("EMR", "SUR", "ICU", "PED", "MAT", "ONC", "CAR")

Row = dict[str, str]


def billing_system(system: str) -> str:
    """The landing folder of a billing system (its EHR vendor's name, prefixed)."""
    return f"billing_{system}"


def account_number(system: str, patient_id: int) -> str:
    return f"{ACCOUNT_PREFIX[system]}{patient_id:07d}"


def format_date(system: str, day: date) -> str:
    return day.strftime("%m/%d/%Y") if system == "epic" else day.isoformat()


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def utc_stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def department_rows(departments: dict[tuple[int, str], Department], modified: datetime) -> list[Row]:
    stamp = utc_stamp(modified)
    return [
        {
            "dept_id": str(d.dept_id),
            "dept_name": d.name,
            "hospital_id": str(d.hospital),
            "department_code": d.code,
            "modified_at": stamp,
        }
        for d in departments.values()
    ]


def provider_rows(
    seed: int, system: str, providers: list[ProviderFacts], departments: dict[tuple[int, str], Department]
) -> tuple[list[Row], Counter[str]]:
    hospitals = sorted({hospital for hospital, _ in departments})
    broken = dirt.broken_providers(seed, system, [p.provider_id for p in providers])
    rows: list[Row] = []
    for provider in providers:
        pid = provider.provider_id
        hospital = provider.hospital or hospitals[int(unit_hash(seed, system, "home", pid) * len(hospitals))]
        choices = SPECIALTY_DEPARTMENTS.get(provider.specialty, ALL_DEPARTMENTS)
        code = choices[int(unit_hash(seed, system, "provider-dept", pid) * len(choices))]
        npi = practitioner_npi(system, pid)
        if pid in broken:
            npi = dirt.break_npi(npi, unit_hash(seed, system, "npi-variant", pid))
        rows.append(
            {
                "provider_id": str(pid),
                "first_name": provider.first_name,
                "last_name": provider.last_name,
                "npi": npi,
                "dept_id": str(departments[(hospital, code)].dept_id),
                "specialty": provider.specialty,
                "modified_at": utc_stamp(provider.modified_at),
            }
        )
    return rows, Counter({dirt.INVALID_NPI: len(broken)} if broken else {})


def transaction_rows(
    seed: int,
    system: str,
    postings: Iterable[tuple[Lifecycle, Posting]],
    departments: dict[tuple[int, str], Department],
) -> tuple[Iterator[Row], Counter[str]]:
    """The extract's rows, in posting order, with their defects; and the defect counts.

    The rows are produced one at a time (an initial extract holds the whole history): the
    counts are complete once the rows have all been read."""
    ordered = sorted(
        postings, key=lambda item: (item[1].day, item[1].minute, item[0].transaction_id(item[1]))
    )
    dirty: Counter[str] = Counter()
    return _transaction_rows(seed, system, ordered, departments, dirty), dirty


def _transaction_rows(
    seed: int,
    system: str,
    ordered: list[tuple[Lifecycle, Posting]],
    departments: dict[tuple[int, str], Department],
    dirty: Counter[str],
) -> Iterator[Row]:
    for life, posting in ordered:
        row = _transaction_row(system, life, posting, departments)
        transaction_id = life.transaction_id(posting)
        reason = dirt.transaction_defect(seed, system, transaction_id, posting.kind)
        if reason is None:
            yield row
            continue
        dirty[reason] += 1
        if reason == dirt.DUPLICATE_ROW:
            yield row
            yield dict(row)
            continue
        broken = dirt.break_transaction(row, reason, system, unit_hash(seed, system, "how", transaction_id))
        if reason in dirt.FLAGGED_REASONS:
            # silver keeps a flagged row: a second entry of a charge would count its money twice
            yield broken
        elif posting.kind == CHARGE:
            # a mis-keyed second entry of the charge, under its own id: the real charge still
            # arrives, so quarantining the entry never leaves the charge's payments without it
            broken["transaction_id"] = str(life.charge_id - SLOT_CHARGE + SLOT_MISKEYED)
            yield row
            yield broken
        else:
            yield broken


def _transaction_row(
    system: str, life: Lifecycle, posting: Posting, departments: dict[tuple[int, str], Department]
) -> Row:
    charge = life.charge
    keyed = local_instant(posting.day, posting.minute // 60, posting.minute % 60)
    return {
        "transaction_id": str(life.transaction_id(posting)),
        "account_number": account_number(system, charge.patient_id),
        "patient_id": str(charge.patient_id),
        "encounter_id": str(charge.encounter_id),
        "charge_id": str(life.charge_id),
        "line_number": str(charge.line_number),
        "transaction_type": posting.kind,
        "cpt_code": charge.cpt,
        "service_date": format_date(system, charge.service_date),
        "posting_date": format_date(system, posting.day),
        "amount": format_cents(posting.cents),
        "payer_code": charge.payer,
        "payment_source": posting.source,
        "provider_id": str(charge.provider_id),
        "dept_id": str(departments[(charge.hospital, charge.dept_code)].dept_id),
        "modified_at": utc_stamp(keyed),
    }


def csv_bytes(columns: tuple[str, ...], rows: list[Row]) -> bytes:
    """RFC 4180 CSV (header row, CRLF, minimal quoting), UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(map(operator.itemgetter(*columns), rows))
    return buffer.getvalue().encode("utf-8")


def write_extract(
    folder: Path,
    entity: str,
    columns: tuple[str, ...],
    rows: Iterable[Row],
    extra: dict[str, Any],
    dirty: Counter[str],
) -> int:
    """One entity's batch: the CSV (streamed, row by row), then the manifest (line counts are data
    rows, header excluded; ``dirty`` is read once the rows are written). Returns the row count."""
    path = folder / f"{entity}.csv"
    count = write_csv_atomic(path, columns, rows)
    write_manifest(folder, {path.name: count}, {**extra, "rows": count, "dirty": dict(sorted(dirty.items()))})
    return count


def write_csv_atomic(path: Path, columns: tuple[str, ...], rows: Iterable[Row]) -> int:
    """Write what :func:`csv_bytes` would, without holding the file in memory, so that readers see
    nothing or the whole file (see ``ingestion.landing.write_atomic``). Returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(path)
    count = 0
    values = operator.itemgetter(*columns)
    with temp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(values(row))
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return count


def extract_folder(landing_root: Path, tenant: str, env: str, system: str, entity: str, day: date) -> Path:
    return batch_dir(landing_root, tenant, env, billing_system(system), entity, batch_id_for(day))
