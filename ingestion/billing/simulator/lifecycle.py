"""The revenue cycle of one charge line: posting, claim, adjudication, payments and write-offs.

Everything a charge goes through is drawn at once from an RNG keyed by (seed, system, charge),
so it is a pure function of the charge: every simulated day sees the same future, and a day's
extract is just the postings that fall on it. Amounts are integer cents, so a closed charge's
postings always net to exactly zero.

Payer lines: the claim goes out when the charge posts; the payer adjudicates after its usual
delay and pays (allowed = billed x contract ratio; paid = allowed - patient responsibility) or
denies with a CARC code. About half of denials are reworked and paid in a later month
('adjusted'); the rest are written off. The billing system posts the payer's payment with the
contractual adjustment 1-3 days after the payer paid; the patient's part is paid later or
written off as bad debt after about four months. Self-pay lines get the uninsured discount,
then prompt, late, partial or no payment, the rest written off after about six months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from ingestion.billing.simulator.chargemaster import price_cents
from ingestion.billing.simulator.ehr_view import ChargeFacts
from ingestion.billing.simulator.payers import (
    AVOIDABLE_DENIALS,
    DENIAL_REASONS,
    PAYER_TERMS,
    REPROCESS_RATE,
    SELF_PAY,
)

CHARGE, PAYMENT, ADJUSTMENT, WRITE_OFF = "CHARGE", "PAYMENT", "ADJUSTMENT", "WRITE_OFF"
PAYER, PATIENT = "payer", "patient"
# Transaction ids are charge-derived: procedure id x 10 + a slot per kind of posting, so ids
# never collide, whichever day a posting is extracted on.
SLOTS_PER_CHARGE = 10
SLOT_CHARGE, SLOT_ADJUSTMENT, SLOT_PAYER, SLOT_PATIENT, SLOT_WRITE_OFF = 0, 1, 2, 3, 8
SLOT_MISKEYED = 9  # a garbled extra entry of a charge (see extracts.transaction_rows)
POSTING_LAG = (0, 0, 1, 1, 1, 2, 2, 3)  # service date to charge posting, in days
SELF_PAY_DISCOUNT = (0.35, 0.50)  # the uninsured discount, as a share of the charge


@dataclass(frozen=True, slots=True)
class Posting:
    slot: int
    kind: str
    day: date
    cents: int
    source: str  # payment_source: payer | patient on payments, "" otherwise
    minute: int  # minute of the local working day it was keyed in (a modified_at time)


@dataclass(frozen=True, slots=True)
class Adjudication:
    """The payer's side of a claim line."""

    submitted: date
    decided: date
    denial_reason: str  # "" when paid
    allowed: int
    paid: int
    reprocessed: date | None  # a denial reworked and paid ('adjusted') on this day

    def status_on(self, day: date) -> str:
        if self.reprocessed is not None and self.reprocessed <= day:
            return "adjusted"
        if self.decided <= day:
            return "denied" if self.denial_reason else "paid"
        return "pending"

    def paid_on(self, day: date) -> date | None:
        status = self.status_on(day)
        if status == "adjusted":
            return self.reprocessed
        return self.decided if status == "paid" else None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    charge: ChargeFacts
    billed: int
    postings: tuple[Posting, ...]
    claim: Adjudication | None  # None for self-pay

    def transaction_id(self, posting: Posting) -> int:
        return self.charge.procedure_id * SLOTS_PER_CHARGE + posting.slot

    @property
    def charge_id(self) -> int:
        return self.charge.procedure_id * SLOTS_PER_CHARGE + SLOT_CHARGE


def lifecycle(seed: int, charge: ChargeFacts) -> Lifecycle:
    rng = Random(f"{seed}:{charge.system}:charge:{charge.procedure_id}")
    billed = price_cents(charge.cpt)
    posted = max(charge.service_date + timedelta(days=rng.choice(POSTING_LAG)), charge.known)
    postings = [_post(rng, SLOT_CHARGE, CHARGE, posted, billed)]
    if charge.payer == SELF_PAY:
        postings.extend(_self_pay(rng, charge.service_date, posted, billed))
        return Lifecycle(charge, billed, tuple(postings), None)
    claim = _adjudicate(rng, charge.payer, posted, billed)
    postings.extend(_payer_postings(rng, charge.payer, claim, billed))
    return Lifecycle(charge, billed, tuple(postings), claim)


def _post(rng: Random, slot: int, kind: str, day: date, cents: int, source: str = "") -> Posting:
    return Posting(slot, kind, day, cents, source, rng.randrange(8 * 60, 18 * 60))


def _days(count: int) -> timedelta:
    return timedelta(days=count)


def _adjudicate(rng: Random, payer: str, submitted: date, billed: int) -> Adjudication:
    terms = PAYER_TERMS[payer]
    decided = submitted + _days(rng.randint(*terms.adjudication_days))
    allowed = round(billed * terms.allowed_ratio * rng.uniform(0.94, 1.06))
    patient = (
        round(allowed * rng.uniform(*terms.patient_share)) if rng.random() < terms.patient_share_rate else 0
    )
    reason = DENIAL_REASONS.draw(rng) if rng.random() < terms.denial_rate else ""
    reprocessed: date | None = None
    if reason and rng.random() < REPROCESS_RATE[reason in AVOIDABLE_DENIALS]:
        reprocessed = decided + _days(rng.randint(20, 60))
        if (reprocessed.year, reprocessed.month) == (decided.year, decided.month):
            reprocessed = _next_month(decided) + _days(rng.randint(0, 14))
    return Adjudication(submitted, decided, reason, allowed, allowed - patient, reprocessed)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _payer_postings(rng: Random, payer: str, claim: Adjudication, billed: int) -> list[Posting]:
    if claim.denial_reason and claim.reprocessed is None:
        return [_post(rng, SLOT_WRITE_OFF, WRITE_OFF, claim.decided + _days(rng.randint(20, 60)), billed)]
    paid_day = claim.reprocessed or claim.decided
    posted = paid_day + _days(rng.randint(1, 3))
    postings = [
        _post(rng, SLOT_PAYER, PAYMENT, posted, claim.paid, PAYER),
        _post(rng, SLOT_ADJUSTMENT, ADJUSTMENT, posted, billed - claim.allowed),
    ]
    patient = claim.allowed - claim.paid
    if patient > 0:
        if rng.random() < PAYER_TERMS[payer].patient_pays:
            day = posted + _days(rng.randint(7, 75))
            postings.append(_post(rng, SLOT_PATIENT, PAYMENT, day, patient, PATIENT))
        else:
            postings.append(
                _post(rng, SLOT_WRITE_OFF, WRITE_OFF, posted + _days(rng.randint(110, 130)), patient)
            )
    return postings


def _self_pay(rng: Random, service: date, posted: date, billed: int) -> list[Posting]:
    discount = round(billed * rng.uniform(*SELF_PAY_DISCOUNT))
    postings = [_post(rng, SLOT_ADJUSTMENT, ADJUSTMENT, posted + _days(rng.randint(0, 2)), discount)]
    due = billed - discount
    roll = rng.random()
    if roll < 0.15:  # paid at or soon after the visit
        return [
            *postings,
            _post(rng, SLOT_PATIENT, PAYMENT, posted + _days(rng.randint(0, 20)), due, PATIENT),
        ]
    if roll < 0.30:  # paid late, after statements
        return [
            *postings,
            _post(rng, SLOT_PATIENT, PAYMENT, posted + _days(rng.randint(35, 150)), due, PATIENT),
        ]
    if roll < 0.55:  # a payment plan that stalls: a few instalments, the rest written off
        share = rng.uniform(0.2, 0.8)
        count = rng.randint(1, 3)
        paid = 0
        for index in range(count):
            cents = round(due * share / count)
            day = posted + _days(30 * index + rng.randint(10, 40))
            postings.append(_post(rng, SLOT_PATIENT + index, PAYMENT, day, cents, PATIENT))
            paid += cents
        if due - paid > 0:
            postings.append(
                _post(rng, SLOT_WRITE_OFF, WRITE_OFF, service + _days(rng.randint(170, 200)), due - paid)
            )
        return postings
    return [*postings, _post(rng, SLOT_WRITE_OFF, WRITE_OFF, service + _days(rng.randint(170, 200)), due)]
