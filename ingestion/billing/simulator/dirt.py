"""Defects the billing extracts carry, each recognisable by exactly one silver rule.

Whether a row is broken is a pure function of (seed, system, transaction id): the transaction
arrives broken whichever day it is extracted on, replacing its clean version. Each dirty row has
ONE defect chosen so that no earlier rule in silver's order catches it: a broken date leaves the
amount and payer intact, a broken amount is never a valid negative number, and so on.
Duplicates are exact copies of clean rows, in the same file right after the original.

The patient defects are kept by silver, not quarantined (``FLAGGED_REASONS``): the row's money
belongs to its account, which is intact, so silver keeps it; only the link to the EHR patient is
lost. ``invalid_patient_id`` is no id at all or not one (blank, a placeholder, the account number
keyed into the patient field, a spreadsheet's ``123.0``); ``unknown_patient`` is a well-formed id
no EHR patient has (the billing system's own registration of a walk-in the EHR never saw).
"""

from __future__ import annotations

from ingestion.billing.simulator.chargemaster import unit_hash

INVALID_DATE, INVALID_AMOUNT, UNKNOWN_PAYER = "invalid_date", "invalid_amount", "unknown_payer"
NEGATIVE_CHARGE, DUPLICATE_ROW, INVALID_NPI = "negative_charge", "duplicate_row", "invalid_npi"
INVALID_PATIENT_ID, UNKNOWN_PATIENT = "invalid_patient_id", "unknown_patient"
# Appended last: the hash points of the earlier defects, hence their rows, stay what they were.
TRANSACTION_REASONS = (
    INVALID_DATE,
    INVALID_AMOUNT,
    UNKNOWN_PAYER,
    NEGATIVE_CHARGE,
    DUPLICATE_ROW,
    INVALID_PATIENT_ID,
    UNKNOWN_PATIENT,
)
# Kept by silver with a DQ flag (the money counts), where every other defect is quarantined.
FLAGGED_REASONS = (INVALID_PATIENT_ID, UNKNOWN_PATIENT)
# Share of transaction rows with each defect (negative_charge: of CHARGE rows).
TRANSACTION_RATES: dict[str, float] = {
    INVALID_DATE: 0.003,
    INVALID_AMOUNT: 0.003,
    UNKNOWN_PAYER: 0.0025,
    NEGATIVE_CHARGE: 0.004,
    DUPLICATE_ROW: 0.003,
    INVALID_PATIENT_ID: 0.0015,
    UNKNOWN_PATIENT: 0.0015,
}
# Providers are few (a few dozen per system at default scale): a higher rate, at least one each.
PROVIDER_NPI_RATE = 0.02
UNKNOWN_PAYER_CODES = ("HUMANA", "TRICARE", "WELLCARE", "UNK")
# The billing system's own patient registrations start here: 9 digits, far above any EHR id.
BILLING_ONLY_PATIENT_BASE = 900_000_000

Row = dict[str, str]


def transaction_defect(seed: int, system: str, transaction_id: int, kind: str) -> str | None:
    """The defect of this transaction's row, or None for a clean row."""
    point = unit_hash(seed, system, "dirt", transaction_id)
    for reason in TRANSACTION_REASONS:
        rate = TRANSACTION_RATES[reason]
        if point < rate:
            return None if reason == NEGATIVE_CHARGE and kind != "CHARGE" else reason
        point -= rate
    return None


def break_transaction(row: Row, reason: str, system: str, salt: float) -> Row:
    """A copy of ``row`` with the one defect ``reason`` (``salt`` in [0, 1) picks the variant)."""
    broken = dict(row)
    variant = int(salt * 16) % 4  # independent of the column choice below (salt < 0.5)
    if reason == INVALID_DATE:
        column = "posting_date" if salt < 0.5 else "service_date"
        broken[column] = _bad_date(row[column], system, variant)
    elif reason == INVALID_AMOUNT:
        amount = row["amount"]
        broken["amount"] = ("", "N/A", f"${amount}", amount.replace(".", ","))[variant]
    elif reason == UNKNOWN_PAYER:
        broken["payer_code"] = UNKNOWN_PAYER_CODES[variant]
    elif reason == NEGATIVE_CHARGE:
        broken["amount"] = f"-{row['amount']}"
    elif reason == INVALID_PATIENT_ID:
        patient = row["patient_id"]
        broken["patient_id"] = ("", "UNKNOWN", row["account_number"], f"{patient}.0")[variant]
    elif reason == UNKNOWN_PATIENT:
        broken["patient_id"] = str(BILLING_ONLY_PATIENT_BASE + int(row["patient_id"]))
    else:
        raise ValueError(f"not a row defect: {reason!r}")
    return broken


def _bad_date(text: str, system: str, variant: int) -> str:
    """Missing, or an impossible day / month / all zeros: invalid under any date parser, not just
    under the system's format (a lenient cast must catch it too)."""
    if system == "epic":  # MM/DD/YYYY
        month, _, year = text.split("/")
        return ("", f"{month}/32/{year}", f"{month}/00/{year}", "00/00/0000")[variant]
    year, month, day = text.split("-")
    return ("", f"{year}-13-{day}", f"{year}-{month}-32", "0000-00-00")[variant]


def broken_providers(seed: int, system: str, provider_ids: list[int]) -> set[int]:
    """Providers whose NPI the billing system holds wrongly, the same ones on every extract."""
    points = {pid: unit_hash(seed, system, "npi", pid) for pid in provider_ids}
    broken = {pid for pid, point in points.items() if point < PROVIDER_NPI_RATE}
    if not broken and points:
        broken = {min(points, key=points.__getitem__)}
    return broken


def break_npi(npi: str, salt: float) -> str:
    """A 9-digit, lettered or check-digit-failing NPI: each fails '10 digits and Luhn'."""
    variant = int(salt * 3)
    if variant == 0:
        return npi[:9]
    if variant == 1:
        return npi[:4] + "O" + npi[5:]
    return npi[:9] + str((int(npi[9]) + 1) % 10)
