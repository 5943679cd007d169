"""Medication orders written at a finished visit: RxNorm drugs for the diagnoses coded on it.

A chronic problem coded on the visit is often managed with a (re)ordered maintenance drug
(lisinopril for hypertension, metformin for diabetes, ...); an acute infection often gets an
antibiotic, pain a short analgesic course. Codes are RxNorm semantic clinical drugs (SCD).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# Orders charted wrongly and voided: rare, like the other resources' entered-in-error states.
ENTERED_IN_ERROR_RATE = 0.004
# A chronic drug stopped later (side effects, switched): ~5% of maintenance orders.
STOPPED_RATE = 0.05


@dataclass(frozen=True)
class Drug:
    rxnorm: str
    display: str
    dosage: str
    days: int | None  # course length; None: a maintenance drug (active until stopped)


DRUGS: dict[str, Drug] = {
    d.rxnorm: d
    for d in (
        Drug("314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily", None),
        Drug("197361", "amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily", None),
        Drug("310798", "hydrochlorothiazide 25 MG Oral Tablet", "Take 1 tablet by mouth every morning", None),
        Drug(
            "861007",
            "metformin hydrochloride 500 MG Oral Tablet",
            "Take 1 tablet by mouth twice daily with meals",
            None,
        ),
        Drug(
            "617310", "atorvastatin 20 MG Oral Tablet", "Take 1 tablet by mouth once daily at bedtime", None
        ),
        Drug(
            "314231",
            "simvastatin 10 MG Oral Tablet",
            "Take 1 tablet by mouth once daily in the evening",
            None,
        ),
        Drug(
            "745679",
            "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler, 200 ACTUAT",
            "Inhale 2 puffs every 4 to 6 hours as needed for wheezing",
            None,
        ),
        Drug(
            "966224",
            "levothyroxine sodium 0.05 MG Oral Tablet",
            "Take 1 tablet by mouth every morning on an empty stomach",
            None,
        ),
        Drug("312940", "sertraline 50 MG Oral Tablet", "Take 1 tablet by mouth once daily", None),
        Drug("310385", "fluoxetine 20 MG Oral Capsule", "Take 1 capsule by mouth every morning", None),
        Drug(
            "855332",
            "warfarin sodium 5 MG Oral Tablet",
            "Take as directed per INR; usual dose 1 tablet daily",
            None,
        ),
        Drug(
            "308191",
            "amoxicillin 500 MG Oral Capsule",
            "Take 1 capsule by mouth 3 times daily for 10 days",
            10,
        ),
        Drug(
            "308460",
            "azithromycin 250 MG Oral Tablet",
            "Take 2 tablets on day 1, then 1 tablet daily for 4 days",
            5,
        ),
        Drug(
            "309114", "cephalexin 500 MG Oral Capsule", "Take 1 capsule by mouth every 12 hours for 7 days", 7
        ),
        Drug(
            "310965",
            "ibuprofen 200 MG Oral Tablet",
            "Take 2 tablets by mouth every 6 hours as needed for pain",
            10,
        ),
        Drug(
            "313782",
            "acetaminophen 325 MG Oral Tablet",
            "Take 2 tablets by mouth every 6 hours as needed; max 3 g per day",
            7,
        ),
        Drug(
            "104894",
            "ondansetron 4 MG Disintegrating Oral Tablet",
            "Dissolve 1 tablet on the tongue every 8 hours as needed for nausea",
            3,
        ),
    )
}

# Diagnosis -> (share of visits coding it that write an order, drugs to choose from with weights).
# Maintenance shares are the refill/renewal orders of visits that address the problem;
# antibiotic shares follow outpatient prescribing studies (Fleming-Dutra et al., JAMA 2016:
# antibiotics at ~60% of pharyngitis and otitis visits; ~40-50% of acute bronchitis visits,
# half of them unnecessary; ~10% of viral URI visits).
ORDERS_FOR_DIAGNOSIS: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "I10": (0.5, (("314076", 45), ("197361", 35), ("310798", 20))),
    "E11.9": (0.55, (("861007", 1),)),
    "Z79.4": (0.3, (("861007", 1),)),
    "E78.5": (0.45, (("617310", 70), ("314231", 30))),
    "I25.10": (0.4, (("617310", 1),)),
    "J45.909": (0.5, (("745679", 1),)),
    "J44.9": (0.5, (("745679", 1),)),
    "E03.9": (0.5, (("966224", 1),)),
    "F32.A": (0.45, (("312940", 60), ("310385", 40))),
    "F41.1": (0.4, (("312940", 1),)),
    "I48.91": (0.4, (("855332", 1),)),
    "J02.9": (0.6, (("308191", 80), ("308460", 20))),
    "H66.90": (0.6, (("308191", 1),)),
    "N39.0": (0.75, (("309114", 1),)),
    "J20.9": (0.45, (("308460", 1),)),
    "J06.9": (0.1, (("308460", 1),)),
    "M54.50": (0.35, (("310965", 1),)),
    "M25.561": (0.3, (("310965", 1),)),
    "M25.562": (0.3, (("310965", 1),)),
    "S93.401A": (0.4, (("310965", 1),)),
    "R51.9": (0.25, (("313782", 1),)),
    "R10.9": (0.3, (("104894", 1),)),
}
# Penicillins are not ordered for a patient with a penicillin allergy label: azithromycin instead.
PENICILLINS = frozenset({"308191"})
PENICILLIN_ALTERNATIVE = "308460"


@dataclass(frozen=True)
class Order:
    drug: Drug
    status: str
    authored: datetime


def medication_orders(
    rng: Random,
    diagnoses: list[str],
    authored: datetime,
    cutoff: datetime,
    penicillin_allergy: bool,
) -> list[Order]:
    """The orders of one visit: at most one per drug."""
    orders: list[Order] = []
    ordered: set[str] = set()
    for code in diagnoses:
        rule = ORDERS_FOR_DIAGNOSIS.get(code)
        if rule is None or rng.random() >= rule[0]:
            continue
        choices = rule[1]
        rxnorm = rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
        if penicillin_allergy and rxnorm in PENICILLINS:
            rxnorm = PENICILLIN_ALTERNATIVE
        if rxnorm in ordered:
            continue
        ordered.add(rxnorm)
        drug = DRUGS[rxnorm]
        orders.append(Order(drug, _status(rng, drug, authored, cutoff), authored))
    return orders


def _status(rng: Random, drug: Drug, authored: datetime, cutoff: datetime) -> str:
    if rng.random() < ENTERED_IN_ERROR_RATE:
        return "entered-in-error"
    if drug.days is not None:
        return "completed" if authored + timedelta(days=drug.days) < cutoff else "active"
    return "stopped" if rng.random() < STOPPED_RATE else "active"
