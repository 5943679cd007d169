"""Payers: the EHR's payor names mapped to payer codes, and how each payer adjudicates and pays.

The code list comes from ``seeds/payers.csv`` (the file dbt seeds), so a payer the warehouse
does not know cannot be simulated; the behaviour below is checked against it at load time.
Rates are tuned so collections look like a real practice's: the best commercial payer pays
fast and rarely denies, Medicaid pays slowly and denies most, self-pay collects least.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from ingestion.ehr.simulator.codes import WeightedChoice

SELF_PAY = "SELFPAY"
SEED_FILE_NAME = "payers.csv"


@dataclass(frozen=True)
class PayerTerms:
    """How one payer treats a claim line (amounts as shares of the billed charge or the allowance)."""

    code: str
    allowed_ratio: float  # allowed / billed: the contract's discount off the chargemaster
    denial_rate: float
    adjudication_days: tuple[int, int]  # submission to adjudication
    patient_share_rate: float  # lines that leave a deductible / coinsurance to the patient
    patient_share: tuple[float, float]  # that part, as a share of the allowed amount
    patient_pays: float  # chance the patient pays their part (else bad-debt write-off)


PAYER_TERMS: dict[str, PayerTerms] = {
    t.code: t
    for t in (
        PayerTerms("BCBS", 0.62, 0.035, (5, 14), 0.12, (0.05, 0.15), 0.85),
        PayerTerms("UHC", 0.58, 0.06, (10, 24), 0.35, (0.05, 0.20), 0.80),
        PayerTerms("AETNA", 0.60, 0.05, (9, 22), 0.35, (0.05, 0.20), 0.80),
        PayerTerms("CIGNA", 0.60, 0.07, (10, 26), 0.35, (0.05, 0.20), 0.80),
        PayerTerms("MEDICARE", 0.42, 0.08, (14, 28), 0.60, (0.10, 0.20), 0.70),
        PayerTerms("MEDICAID", 0.33, 0.12, (18, 50), 0.05, (0.02, 0.05), 0.50),
    )
}
CLAIM_PAYERS: tuple[str, ...] = tuple(PAYER_TERMS)

# CARC codes of denials, by how often payers use them; avoidable ones are mostly reworked.
DENIAL_REASONS = WeightedChoice(
    ("CO-16", "CO-18", "CO-29", "CO-50", "CO-97", "CO-197", "PR-204"), (30, 8, 5, 15, 12, 20, 10)
)
AVOIDABLE_DENIALS = frozenset({"CO-16", "CO-18", "CO-29", "CO-197"})
REPROCESS_RATE = {True: 0.7, False: 0.25}  # by avoidable: about half of all denials


def claims_folder(payer_code: str) -> str:
    """The payer's claim-file code (``claims_{code}`` folders, ``claims_{code}_YYYY-MM.csv``)."""
    if payer_code == SELF_PAY:
        raise ValueError("self-pay sends no claim files")
    return payer_code.lower()


def seed_path() -> Path:
    """``seeds/payers.csv`` at the repository root (four levels above this module)."""
    return Path(__file__).resolve().parents[3] / "seeds" / SEED_FILE_NAME


@functools.cache
def payer_codes_by_ehr_name(path: Path | None = None) -> dict[str, str]:
    """EHR Coverage ``payor.display`` -> payer code, from the seed; fails if it disagrees with the terms."""
    source = path or seed_path()
    with source.open(encoding="utf-8", newline="") as handle:
        mapping = {row["ehr_payor_name"]: row["payer_code"] for row in csv.DictReader(handle)}
    expected = {*PAYER_TERMS, SELF_PAY}
    if set(mapping.values()) != expected:
        raise ValueError(f"{source}: payer codes {sorted(mapping.values())} differ from {sorted(expected)}")
    return mapping
