"""The formulary: drugs by therapeutic class, and which conditions lead to which maintenance drugs.

NDCs are made up but well formed (11 digits, 5-4-2 without dashes). Unit costs are plausible
retail costs in cents: generics cost cents, the brand DPP-4 inhibitor dollars.
"""

from __future__ import annotations

from dataclasses import dataclass

DIABETES, RAS, STATIN = "diabetes", "ras_antagonist", "statin"
ANTIBIOTIC, ANALGESIC, ANTIDEPRESSANT = "antibiotic", "analgesic", "antidepressant"
MAINTENANCE_CLASSES = (DIABETES, RAS, STATIN, ANTIDEPRESSANT)  # their order fixes rx id slots


@dataclass(frozen=True)
class Drug:
    ndc: str
    name: str
    therapeutic_class: str
    unit_cents: float  # cost per unit dispensed
    units_per_day: float
    weight: float  # share within its class
    days: tuple[int, int] = (30, 30)  # an acute course: days_supply range
    brand: bool = False


FORMULARY: tuple[Drug, ...] = (
    Drug("00093104801", "metformin 500 mg tablet", DIABETES, 16, 2, 40),
    Drug("00093727501", "metformin 1000 mg tablet", DIABETES, 24, 2, 20),
    Drug("00591046001", "glipizide 5 mg tablet", DIABETES, 20, 1, 18),
    Drug("00006027731", "sitagliptin 100 mg tablet", DIABETES, 1750, 1, 12, brand=True),
    Drug("00378020201", "pioglitazone 30 mg tablet", DIABETES, 36, 1, 10),
    Drug("68180051301", "lisinopril 10 mg tablet", RAS, 12, 1, 35),
    Drug("68180051401", "lisinopril 20 mg tablet", RAS, 16, 1, 15),
    Drug("00093736598", "losartan 50 mg tablet", RAS, 28, 1, 35),
    Drug("00781532192", "valsartan 160 mg tablet", RAS, 56, 1, 15),
    Drug("60505257909", "atorvastatin 20 mg tablet", STATIN, 20, 1, 30),
    Drug("60505258009", "atorvastatin 40 mg tablet", STATIN, 24, 1, 25),
    Drug("00591377319", "rosuvastatin 10 mg tablet", STATIN, 32, 1, 25),
    Drug("16714068302", "simvastatin 20 mg tablet", STATIN, 12, 1, 20),
    Drug("16714061302", "sertraline 50 mg tablet", ANTIDEPRESSANT, 24, 1, 40),
    Drug("00093585001", "escitalopram 10 mg tablet", ANTIDEPRESSANT, 20, 1, 35),
    Drug("00093719856", "fluoxetine 20 mg capsule", ANTIDEPRESSANT, 28, 1, 25),
    Drug("00093310905", "amoxicillin 500 mg capsule", ANTIBIOTIC, 36, 3, 35, (7, 10)),
    Drug("59762314202", "azithromycin 250 mg tablet", ANTIBIOTIC, 220, 1.2, 25, (5, 5)),
    Drug("00093314705", "cephalexin 500 mg capsule", ANTIBIOTIC, 48, 4, 20, (7, 10)),
    Drug("47781030301", "nitrofurantoin 100 mg capsule", ANTIBIOTIC, 240, 2, 20, (5, 7)),
    Drug("55111068205", "ibuprofen 800 mg tablet", ANALGESIC, 24, 3, 45, (5, 10)),
    Drug("68462018801", "naproxen 500 mg tablet", ANALGESIC, 32, 2, 35, (7, 14)),
    Drug("65862006201", "tramadol 50 mg tablet", ANALGESIC, 28, 3, 20, (3, 5)),
)
BY_CLASS: dict[str, tuple[Drug, ...]] = {
    klass: tuple(d for d in FORMULARY if d.therapeutic_class == klass)
    for klass in (*MAINTENANCE_CLASSES, ANTIBIOTIC, ANALGESIC)
}

# ICD-10-CM categories (first three characters) behind each maintenance class.
DIABETES_CODES = frozenset({"E08", "E09", "E10", "E11", "E13"})
HYPERTENSION_CODES = frozenset({"I10", "I11", "I12", "I13", "I15", "I16"})
LIPID_CODES = frozenset({"E78"})
DEPRESSION_CODES = frozenset({"F32", "F33"})
# Acute problems an encounter may end with a prescription for, and the chance it does.
ACUTE_BY_CATEGORY: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("J01", "J02", "J06", "J20", "N39", "H66", "L03"), (ANTIBIOTIC, 0.5)),
    **dict.fromkeys(("M54", "M25", "M17", "R51", "G43", "S93", "S83"), (ANALGESIC, 0.4)),
}
TREATED_SHARE = {DIABETES: 0.9, RAS: 0.85, STATIN: 0.85, ANTIDEPRESSANT: 0.6}
STATIN_FOR_DIABETES = 0.6  # diabetics without a lipid diagnosis on a statin
ANTIDEPRESSANT_BACKGROUND = 0.015  # undiagnosed (in this EHR) antidepressant users


def pick(drugs: tuple[Drug, ...], point: float) -> Drug:
    """The drug a point in [0, 1) falls on, by weight."""
    total = sum(d.weight for d in drugs)
    point *= total
    for drug in drugs:
        point -= drug.weight
        if point < 0:
            return drug
    return drugs[-1]
