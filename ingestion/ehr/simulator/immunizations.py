"""Vaccines given at ambulatory visits: seasonal influenza and COVID-19, and the ACIP schedule.

Seasonal vaccines are offered at visits in their season; scheduled ones at well visits of the
right age. ``given`` is what the patient already received in this extract (the initial
history is generated patient by patient, so one flu shot per season there); a daily increment
does not know a patient's history and may rarely record a second dose, as real registries show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from ingestion.ehr.simulator.clock import local_date

CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"
ACT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

CVX: dict[str, str] = {
    "150": "Influenza, injectable, quadrivalent, preservative free",
    "158": "Influenza, injectable, quadrivalent, contains preservative",
    "140": "Influenza, seasonal, injectable, preservative free",
    "141": "Influenza, seasonal, injectable",
    "197": "Influenza, high-dose, quadrivalent, 0.7mL dose, preservative free",
    "208": "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose",
    "213": "SARS-COV-2 (COVID-19) vaccine, UNSPECIFIED FORMULATION",
    "115": "Tdap",
    "33": "pneumococcal polysaccharide vaccine, 23 valent",
    "215": "Pneumococcal conjugate vaccine, 15 valent",
    "133": "Pneumococcal conjugate vaccine, 13 valent",
    "187": "zoster vaccine recombinant",
    "165": "Human Papillomavirus 9-valent vaccine",
    "03": "measles, mumps and rubella virus vaccine",
    "20": "diphtheria, tetanus toxoids and acellular pertussis vaccine",
    "10": "poliovirus vaccine, inactivated",
    "08": "hepatitis B vaccine, pediatric or pediatric/adolescent dosage",
    "21": "varicella virus vaccine",
    "83": "hepatitis A vaccine, pediatric/adolescent dosage, 2 dose schedule",
    "116": "rotavirus, live, pentavalent vaccine",
    "49": "Haemophilus influenzae type b vaccine, PRP-OMP conjugate",
    "114": "meningococcal polysaccharide (groups A, C, Y and W-135) diphtheria toxoid conjugate vaccine"
    " (MCV4P)",
}
# Influenza: CDC FluVaxView 2023-24 coverage: children 6 mo-17 y ~55%, adults 18-64 ~35-47%,
# 65+ ~70%. A share of adults are vaccinated at pharmacies (outside this EHR), so the per-visit
# offer rate is below coverage; patients visit ~1-2 times per season.
FLU_PER_VISIT = ((18, 0.4), (50, 0.22), (65, 0.32), (200, 0.5))  # (upper age, share of in-season visits)
FLU_MONTHS = frozenset({9, 10, 11, 12, 1, 2, 3})
# COVID-19 2023-24 vaccine: ~22.5% of adults, ~41% of 65+, ~14% of children (CDC COVIDVaxView).
COVID_PER_VISIT = ((18, 0.06), (65, 0.1), (200, 0.2))
COVID_MONTHS = frozenset({9, 10, 11, 12, 1, 2})
# Childhood schedule at well visits: NIS-Child coverage ~90% (MMR, polio, HepB, varicella by
# 24 months), rotavirus ~76%; NIS-Teen 2022: Tdap 90%, MenACWY 89%, HPV (>=1 dose) 76%.
SCHEDULE: tuple[tuple[int, int, str, float], ...] = (  # (min age, max age, CVX, coverage)
    (0, 0, "20", 0.93), (0, 0, "10", 0.93), (0, 0, "08", 0.92), (0, 0, "49", 0.9), (0, 0, "133", 0.9),
    (0, 0, "116", 0.76),
    (1, 1, "03", 0.9), (1, 1, "21", 0.9), (1, 1, "83", 0.8),
    (4, 6, "20", 0.9), (4, 6, "10", 0.9), (4, 6, "03", 0.9), (4, 6, "21", 0.9),
    (11, 12, "115", 0.9), (11, 12, "114", 0.89), (11, 12, "165", 0.76),
    (16, 17, "114", 0.6),
    # Adults: Tdap booster every 10 years (~1 in 10 well visits); recombinant zoster from 50
    # (~30% of 50+ ever, NHIS 2021); pneumococcal conjugate from 65 (~65% of 65+ ever).
    (19, 120, "115", 0.08), (50, 120, "187", 0.15), (65, 120, "215", 0.25),
)  # fmt: skip
# Vaccines declined or deferred are recorded as not-done with the reason (~2% of offers).
NOT_DONE_RATE = 0.02
NOT_DONE_REASONS = (
    ("PATOBJ", "patient objection"),
    ("MEDPREC", "medical precaution"),
    ("OSTOCK", "product out of stock"),
    ("IMMUNE", "immunity"),
)


@dataclass(frozen=True)
class Shot:
    cvx: str
    occurred: datetime
    status: str  # completed | not-done
    reason: tuple[str, str] | None


def _share(table: tuple[tuple[int, float], ...], age: int) -> float:
    return next(share for upper, share in table if age < upper)


def _season(day_month: int, year: int) -> int:
    """Flu season label: the year it starts in (September)."""
    return year if day_month >= 9 else year - 1


def _flu_vaccine(rng: Random, age: int) -> str:
    if age >= 65:
        return "197"
    return rng.choice(("150", "150", "158", "140", "141"))


def vaccines_at_visit(
    rng: Random, age: int, start: datetime, end: datetime, preventive: bool, given: set[str]
) -> list[Shot]:
    """Vaccines offered at one finished ambulatory visit; updates ``given``."""
    day = local_date(start)
    wanted: list[tuple[str, str]] = []  # (memo key, CVX)
    season = _season(day.month, day.year)
    if day.month in FLU_MONTHS and age >= 1 and rng.random() < _share(FLU_PER_VISIT, age):
        wanted.append((f"flu:{season}", _flu_vaccine(rng, age)))
    if day.month in COVID_MONTHS and age >= 1 and rng.random() < _share(COVID_PER_VISIT, age):
        wanted.append((f"covid:{season}", "208" if age >= 12 else "213"))
    if preventive:
        for low, high, cvx, coverage in SCHEDULE:
            if low <= age <= high and rng.random() < coverage:
                wanted.append((f"{cvx}:{low}", cvx))
    span = max(1, int((end - start) / timedelta(minutes=1)))
    shots = []
    for key, cvx in wanted:
        if key in given:
            continue
        given.add(key)
        at = start + timedelta(minutes=rng.randint(min(span - 1, 10), span - 1) if span > 1 else 0)
        if rng.random() < NOT_DONE_RATE:
            shots.append(Shot(cvx, at, "not-done", rng.choice(NOT_DONE_REASONS)))
        else:
            shots.append(Shot(cvx, at, "completed", None))
    return shots
