"""Defects in payer claim files, each caught by exactly one silver rule.

A row's defect is a pure function of (seed, payer, month, the file version, claim line): a
corrected resubmission has its own defects, a file delivered twice has the same bytes twice.
Broken values are never empty (an empty paid_date or amount could pass as a legitimate blank),
and broken dates fail a lenient cast too (an impossible month or day, not just another format).
"""

from __future__ import annotations

from datetime import date

from ingestion.billing.simulator.chargemaster import unit_hash

INVALID_DATE, INVALID_AMOUNT, DUPLICATE_ROW = "invalid_date", "invalid_amount", "duplicate_row"
CLAIM_REASONS = (INVALID_DATE, INVALID_AMOUNT, DUPLICATE_ROW)
CLAIM_RATES = {INVALID_DATE: 0.003, INVALID_AMOUNT: 0.003, DUPLICATE_ROW: 0.003}
DATE_COLUMNS = ("service_date", "submitted_date", "paid_date")
AMOUNT_COLUMNS = ("billed_amount", "allowed_amount", "paid_amount")

Row = dict[str, str]


def claim_defect(
    seed: int, payer: str, month: date, version: date, claim_id: str, line: str
) -> tuple[str | None, float]:
    """(the row's defect or None, a salt in [0, 1) that picks how it is broken)."""
    point = unit_hash(seed, payer, f"{month:%Y-%m}", version, claim_id, line)
    for reason in CLAIM_REASONS:
        rate = CLAIM_RATES[reason]
        if point < rate:
            return reason, point / rate
        point -= rate
    return None, 0.0


def break_claim(row: Row, reason: str, salt: float) -> Row:
    broken = dict(row)
    if reason == INVALID_DATE:
        columns = [c for c in DATE_COLUMNS if row[c]]
        column = columns[int(salt * len(columns))]
        year, month, day = row[column].split("-")
        broken[column] = (f"{year}-13-{day}", f"{year}-{month}-32", f"{year}-{month}-00")[int(salt * 9) % 3]
    elif reason == INVALID_AMOUNT:
        column = AMOUNT_COLUMNS[int(salt * 3)]
        amount = row[column]
        broken[column] = ("N/A", f"${amount}", amount.replace(".", ","))[int(salt * 9) % 3]
    else:
        raise ValueError(f"not a row defect: {reason!r}")
    return broken
