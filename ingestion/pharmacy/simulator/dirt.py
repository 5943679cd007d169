"""Defects in pharmacy and eligibility files, each caught by exactly one silver rule.

A file's defects are drawn row by row from a stream seeded by (seed, payer, month), so a file
delivered twice has the same defects. Only paid fill rows are broken: a broken reversal would
leave silver a paid fill it cannot cancel. Broken values are never empty and fail a lenient
cast too.
"""

from __future__ import annotations

from datetime import date
from random import Random

INVALID_DATE, INVALID_AMOUNT, INVALID_DAYS_SUPPLY = "invalid_date", "invalid_amount", "invalid_days_supply"
INVALID_NPI, DUPLICATE_ROW = "invalid_npi", "duplicate_row"
FILL_RATES = {
    INVALID_DATE: 0.003,
    INVALID_AMOUNT: 0.003,
    INVALID_DAYS_SUPPLY: 0.003,
    INVALID_NPI: 0.003,
    DUPLICATE_ROW: 0.003,
}  # in the silver rules' order
ELIGIBILITY_RATES = {INVALID_DATE: 0.002, DUPLICATE_ROW: 0.002}

Row = dict[str, str]


class DirtStream:
    """One file's defect draws, row by row: a file's rows (and so its defects) depend only on
    (seed, payer, month), so a file delivered twice has the same defects."""

    def __init__(self, seed: int, entity: str, payer: str, month: date) -> None:
        self.rng = Random(f"{seed}:pharmacy:dirt:{entity}:{payer}:{month:%Y-%m}")

    def defect(self, rates: dict[str, float]) -> tuple[str | None, float]:
        """(the next row's defect or None, a salt in [0, 1) that picks how it is broken)."""
        point = self.rng.random()
        for reason, rate in rates.items():
            if point < rate:
                return reason, point / rate
            point -= rate
        return None, 0.0

    def chance(self, rate: float) -> bool:
        return self.rng.random() < rate


def _bad_date(value: str, salt: float) -> str:
    year, month, day = value.split("-")
    return (f"{year}-13-{day}", f"{year}-{month}-32", f"{year}-{month}-00")[int(salt * 3) % 3]


def break_fill(row: Row, reason: str, salt: float) -> Row:
    broken = dict(row)
    pick = int(salt * 3) % 3
    if reason == INVALID_DATE:
        broken["fill_date"] = _bad_date(row["fill_date"], salt)
    elif reason == INVALID_AMOUNT:
        amount = row["paid_amount"]
        broken["paid_amount"] = ("N/A", f"${amount}", amount.replace(".", ","))[pick]
    elif reason == INVALID_DAYS_SUPPLY:
        supply = int(row["days_supply"])
        broken["days_supply"] = ("0", f"-{supply}", f"{supply}.5", str(365 + supply))[int(salt * 4) % 4]
    elif reason == INVALID_NPI:
        npi = row["prescriber_npi"]
        # a wrong check digit fails Luhn; a dropped digit fails the length
        broken["prescriber_npi"] = npi[:-1] if pick == 0 else f"{npi[:-1]}{(int(npi[-1]) + 1 + pick) % 10}"
    else:
        raise ValueError(f"not a row defect: {reason!r}")
    return broken


def break_member_month(row: Row, salt: float) -> Row:
    return {**row, "eligibility_month": _bad_date(row["eligibility_month"], salt)}
