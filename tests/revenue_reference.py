"""An independent reference calculation of the revenue-cycle figures silver and gold must produce.

Written from the data contract's rules only (the landing CSVs, read with the csv module, and the
EHR's NDJSON for the patients it knows), never from the simulator's lifecycle: tests compare the
warehouse (and the simulator's own manifests) with these numbers. Rules, in the contract's order:

billing transactions: invalid_date (service/posting date missing or not a valid date in the
system's format: athena YYYY-MM-DD, epic MM/DD/YYYY), invalid_amount, unknown_payer (not in
seeds/payers.csv), negative_charge, duplicate_row ((system, transaction_id) seen in an earlier
row, ordered by file date, source file, row number). Kept, not quarantined (the row and its
money count): invalid_patient_id (patient id missing or not 1-9 digits, flagged in staging),
unknown_patient (a well-formed id, leading zeros dropped, that is no Patient resource id and no
finished encounter's subject in that system's EHR landing; told among usable rows by the common
model). Providers: invalid_npi, newest full extract per system only. Claim lines:
invalid_date, invalid_amount, duplicate_row (per file); for each (payer, claim month) only the
newest file counts (superseding is not quarantine).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
BILLING_SYSTEMS = ("athena", "epic")
CLAIM_PAYER_FOLDERS = ("bcbs", "uhc", "aetna", "cigna", "medicare", "medicaid")
BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
MANIFEST = "manifest.json"
BATCH_FORMAT = "%Y%m%dT060000Z"

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_PATIENT_ID = re.compile(r"^\d{1,9}$")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BillingRow:
    system: str
    file_date: date
    source_file: str  # path relative to the landing root
    row_number: int  # 1-based, header excluded
    values: dict[str, str]
    service_date: date | None
    posting_date: date | None
    amount: Decimal | None
    reason: str | None  # quarantine reason, None if the row passes every rule

    @property
    def signed_amount(self) -> Decimal:
        """Charges raise the balance; payments, adjustments and write-offs reduce it."""
        assert self.amount is not None
        return self.amount if self.values["transaction_type"] == "CHARGE" else -self.amount


@dataclass(frozen=True)
class ClaimRow:
    payer: str
    claim_month: str
    file_date: date
    source_file: str
    row_number: int
    values: dict[str, str]
    reason: str | None


def payer_codes() -> frozenset[str]:
    with (SEEDS / "payers.csv").open(encoding="utf-8", newline="") as handle:
        return frozenset(row["payer_code"] for row in csv.DictReader(handle))


def _batches(landing_root: Path, tenant: str, env: str, system: str, entity: str) -> list[tuple[date, Path]]:
    """Complete batch folders (those with a manifest), oldest first."""
    base = landing_root / tenant / env / system / entity
    if not base.is_dir():
        return []
    found = [
        (datetime.strptime(folder.name, BATCH_FORMAT).date(), folder)
        for folder in base.iterdir()
        if (folder / MANIFEST).is_file()
    ]
    return sorted(found)


def _files(landing_root: Path, tenant: str, env: str, system: str, entity: str) -> list[tuple[date, Path]]:
    return [
        (file_date, path)
        for file_date, folder in _batches(landing_root, tenant, env, system, entity)
        for path in sorted(folder.glob("*.csv"))
    ]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def parse_date(text: str, system: str) -> date | None:
    """A date in the system's format, or None (missing, other format or impossible)."""
    try:
        if system == "epic":
            return datetime.strptime(text, "%m/%d/%Y").date() if _US.match(text) else None
        return date.fromisoformat(text) if _ISO.match(text) else None
    except ValueError:
        return None


def parse_amount(text: str) -> Decimal | None:
    return Decimal(text) if _DECIMAL.match(text or "") else None


def billing_rows(landing_root: Path, tenant: str, env: str) -> list[BillingRow]:
    """Every transaction row of both billing systems, with its quarantine reason (or None)."""
    known_payers = payer_codes()
    rows: list[BillingRow] = []
    for system in BILLING_SYSTEMS:
        seen: set[str] = set()
        for file_date, path in _files(landing_root, tenant, env, f"billing_{system}", "transactions"):
            source = str(path.relative_to(landing_root))
            for number, values in enumerate(_read(path), start=1):
                service = parse_date(values["service_date"], system)
                posting = parse_date(values["posting_date"], system)
                amount = parse_amount(values["amount"])
                reason = None
                if service is None or posting is None:
                    reason = "invalid_date"
                elif amount is None:
                    reason = "invalid_amount"
                elif values["payer_code"] not in known_payers:
                    reason = "unknown_payer"
                elif values["transaction_type"] == "CHARGE" and amount < 0:
                    reason = "negative_charge"
                elif values["transaction_id"] in seen:
                    reason = "duplicate_row"
                seen.add(values["transaction_id"])
                rows.append(
                    BillingRow(system, file_date, source, number, values, service, posting, amount, reason)
                )
    return rows


def ehr_patients(landing_root: Path, tenant: str, env: str) -> frozenset[tuple[str, str]]:
    """(system, patient id) of every patient an EHR sent: Patient resources and the subjects of
    finished encounters, over the well-formed NDJSON lines of complete batches."""
    known: set[tuple[str, str]] = set()
    for system in BILLING_SYSTEMS:
        for entity in ("patient", "encounter"):
            for _, folder in _batches(landing_root, tenant, env, system, entity):
                for path in sorted(folder.glob("*.ndjson")):
                    for line in path.read_text(encoding="utf-8").splitlines():
                        patient = _patient_of(line)
                        if patient is not None:
                            known.add((system, patient))
    return frozenset(known)


def _patient_of(line: str) -> str | None:
    """The patient id a Patient line is, or a finished Encounter line is about."""
    try:
        resource = json.loads(line)
    except ValueError:
        return None  # a truncated line: rejected at load
    if not isinstance(resource, dict) or not resource.get("id"):
        return None
    if resource.get("resourceType") == "Patient":
        return str(resource["id"])
    if resource.get("resourceType") == "Encounter" and resource.get("status") == "finished":
        return str(resource["subject"]["reference"]).split("/", 1)[1]
    return None


def patient_flag(row: BillingRow, known: frozenset[tuple[str, str]]) -> str | None:
    """The row's patient flag: invalid_patient_id, unknown_patient, or None."""
    text = row.values["patient_id"].strip()
    if not _PATIENT_ID.match(text):
        return "invalid_patient_id"
    return None if (row.system, str(int(text))) in known else "unknown_patient"


def expected_flag_counts(landing_root: Path, tenant: str, env: str) -> dict[str, int]:
    """invalid_patient_id -> rows of bronze that carry it (staging flags every row, quarantined
    ones included); unknown_patient -> usable rows that carry it (the common model, which holds
    usable rows only, tells them)."""
    known = ehr_patients(landing_root, tenant, env)
    flags = Counter(
        flag
        for row in billing_rows(landing_root, tenant, env)
        if (flag := patient_flag(row, known)) == "invalid_patient_id"
        or (flag == "unknown_patient" and row.reason is None)
    )
    return dict(flags)


def valid_billing_rows(landing_root: Path, tenant: str, env: str) -> list[BillingRow]:
    return [row for row in billing_rows(landing_root, tenant, env) if row.reason is None]


def expected_ar_by_account(landing_root: Path, tenant: str, env: str) -> dict[tuple[str, str], Decimal]:
    """(system, account_number) -> charges - payments - adjustments - write-offs over valid rows."""
    balances: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in valid_billing_rows(landing_root, tenant, env):
        balances[(row.system, row.values["account_number"])] += row.signed_amount
    return dict(balances)


def expected_totals(landing_root: Path, tenant: str, env: str) -> dict[str, Decimal]:
    totals = dict.fromkeys(("charges", "payments", "adjustments", "write_offs"), ZERO)
    key = {"CHARGE": "charges", "PAYMENT": "payments", "ADJUSTMENT": "adjustments", "WRITE_OFF": "write_offs"}
    for row in valid_billing_rows(landing_root, tenant, env):
        assert row.amount is not None
        totals[key[row.values["transaction_type"]]] += row.amount
    totals["outstanding_ar"] = (
        totals["charges"] - totals["payments"] - totals["adjustments"] - totals["write_offs"]
    )
    return totals


def bucket_of(age_days: int) -> str:
    for bucket, upper in zip(BUCKETS, (30, 60, 90, 120), strict=False):
        if age_days <= upper:
            return bucket
    return BUCKETS[-1]


def expected_ar_aging(
    landing_root: Path, tenant: str, env: str, as_of: date
) -> dict[tuple[str, str], Decimal]:
    """(payer_code, bucket) -> open balance on ``as_of`` (rows posted on or before it), aged by
    the charge's service date; buckets whose open balance is zero are left out."""
    per_charge: dict[tuple[str, str], tuple[str, date, Decimal]] = {}
    for row in valid_billing_rows(landing_root, tenant, env):
        assert row.posting_date is not None and row.service_date is not None
        if row.posting_date > as_of:
            continue
        key = (row.system, row.values["charge_id"])
        payer, service, balance = per_charge.get(key, (row.values["payer_code"], row.service_date, ZERO))
        per_charge[key] = (payer, service, balance + row.signed_amount)
    aging: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for payer, service, balance in per_charge.values():
        if balance:
            aging[(payer, bucket_of(max(0, (as_of - service).days)))] += balance
    return {key: value for key, value in aging.items() if value}


def newest_provider_rows(landing_root: Path, tenant: str, env: str) -> dict[str, list[dict[str, str]]]:
    """The rows of each system's newest full provider extract."""
    newest: dict[str, list[dict[str, str]]] = {}
    for system in BILLING_SYSTEMS:
        files = _files(landing_root, tenant, env, f"billing_{system}", "providers")
        if files:
            newest[system] = _read(files[-1][1])
    return newest


def is_valid_npi(npi: str) -> bool:
    """10 digits whose Luhn check over ``80840`` + the first 9 digits gives the 10th."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed("80840" + npi[:9])):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10 == int(npi[9])


def _iso(text: str) -> bool:
    try:
        return bool(_ISO.match(text)) and date.fromisoformat(text) is not None
    except ValueError:
        return False


def claim_rows(landing_root: Path, tenant: str, env: str) -> list[ClaimRow]:
    """Every claim line of every payer file, with its quarantine reason (or None)."""
    rows: list[ClaimRow] = []
    for payer in CLAIM_PAYER_FOLDERS:
        for file_date, path in _files(landing_root, tenant, env, f"claims_{payer}", "claim_lines"):
            month = path.stem.rsplit("_", 1)[1]
            seen: set[tuple[str, str]] = set()
            for number, values in enumerate(_read(path), start=1):
                reason = None
                paid_date = values["paid_date"]
                if not (_iso(values["service_date"]) and _iso(values["submitted_date"])) or (
                    paid_date and not _iso(paid_date)
                ):
                    reason = "invalid_date"
                elif any(
                    parse_amount(values[c]) is None
                    for c in ("billed_amount", "allowed_amount", "paid_amount")
                ):
                    reason = "invalid_amount"
                elif (values["claim_id"], values["claim_line"]) in seen:
                    reason = "duplicate_row"
                seen.add((values["claim_id"], values["claim_line"]))
                source = str(path.relative_to(landing_root))
                rows.append(ClaimRow(payer, month, file_date, source, number, values, reason))
    return rows


def current_claim_rows(landing_root: Path, tenant: str, env: str) -> list[ClaimRow]:
    """Valid rows of the newest file of each (payer, claim month): what silver keeps."""
    rows = claim_rows(landing_root, tenant, env)
    newest: dict[tuple[str, str], date] = {}
    for row in rows:
        key = (row.payer, row.claim_month)
        newest[key] = max(newest.get(key, row.file_date), row.file_date)
    return [r for r in rows if r.reason is None and r.file_date == newest[(r.payer, r.claim_month)]]


def expected_quarantine_counts(
    landing_root: Path, tenant: str, env: str, *, superseded_claim_files: bool = True
) -> dict[tuple[str, str], int]:
    """(table, reason) -> rows quarantined; tables: transactions, providers, claim_lines.

    ``superseded_claim_files=False`` counts claim lines of the newest file per payer-month only.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for row in billing_rows(landing_root, tenant, env):
        if row.reason:
            counts[("transactions", row.reason)] += 1
    for provider_rows in newest_provider_rows(landing_root, tenant, env).values():
        counts[("providers", "invalid_npi")] += sum(not is_valid_npi(r["npi"]) for r in provider_rows)
    claims = claim_rows(landing_root, tenant, env)
    if not superseded_claim_files:
        newest: dict[tuple[str, str], date] = {}
        for row in claims:
            key = (row.payer, row.claim_month)
            newest[key] = max(newest.get(key, row.file_date), row.file_date)
        claims = [r for r in claims if r.file_date == newest[(r.payer, r.claim_month)]]
    for row in claims:
        if row.reason:
            counts[("claim_lines", row.reason)] += 1
    return {key: value for key, value in counts.items() if value}


def collection_shares(
    landing_root: Path, tenant: str, env: str, as_of: date, *, min_age: int = 365
) -> dict[str, dict[str, float]]:
    """payer -> share of net collectible dollars (charge - contractual adjustment) collected within
    30/60/90/120 days of service and by ``as_of`` ('all'), over valid charges at least ``min_age``
    days old on ``as_of`` (so their cycle is over) whose CHARGE row is valid."""
    limits = {"30d": 30, "60d": 60, "90d": 90, "120d": 120, "all": 10**6}
    by_charge: dict[tuple[str, str], list[BillingRow]] = defaultdict(list)
    for row in valid_billing_rows(landing_root, tenant, env):
        assert row.posting_date is not None and row.service_date is not None
        if row.posting_date <= as_of and (as_of - row.service_date).days >= min_age:
            by_charge[(row.system, row.values["charge_id"])].append(row)
    net: Counter[str] = Counter()
    collected: dict[str, Counter[str]] = defaultdict(Counter)
    for rows in by_charge.values():
        if not any(r.values["transaction_type"] == "CHARGE" for r in rows):
            continue
        for r in rows:
            assert r.amount is not None and r.posting_date is not None and r.service_date is not None
            payer, kind, amount = r.values["payer_code"], r.values["transaction_type"], float(r.amount)
            if kind in ("CHARGE", "ADJUSTMENT"):
                net[payer] += amount if kind == "CHARGE" else -amount
            elif kind == "PAYMENT":
                age = (r.posting_date - r.service_date).days
                collected[payer].update({label: amount for label, limit in limits.items() if age <= limit})
    return {
        payer: {label: collected[payer][label] / total for label in limits}
        for payer, total in net.items()
        if total
    }
