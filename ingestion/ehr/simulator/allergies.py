"""A patient's allergy list, recorded at registration: allergies, or "no known allergy".

Drug allergies are coded in RxNorm (the ingredient), other substances in SNOMED CT, as US Core
AllergyIntolerance allows. Prevalences are of allergy *labels* in US health records.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

SNOMED_SYSTEM = "http://snomed.info/sct"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NO_KNOWN_ALLERGY = ("716186003", "No known allergy (situation)")
# Of patients without any allergy: share whose record states "no known allergies" (most
# intake workflows require the question to be answered; the rest were never asked).
NKA_SHARE = 0.7


@dataclass(frozen=True)
class Allergen:
    system: str
    code: str
    display: str
    category: str  # medication | food | environment
    prevalence: float
    min_age: int = 0


# Prevalence of each label (independent draws):
ALLERGENS: tuple[Allergen, ...] = (
    # ~10% of US patients carry a penicillin allergy label (Shenoy et al., JAMA 2019).
    Allergen(SNOMED_SYSTEM, "764146007", "Penicillin (substance)", "medication", 0.10),
    # Sulfonamide antibiotics ~4-7% (Zhou et al., Allergy 2016: 7.4% of Partners EHR patients).
    Allergen(RXNORM_SYSTEM, "10180", "sulfamethoxazole", "medication", 0.05),
    # Opioids ~3-7% (Zhou 2016: 6.8%, mostly intolerances such as nausea to codeine).
    Allergen(RXNORM_SYSTEM, "2670", "codeine", "medication", 0.03, min_age=12),
    # NSAIDs ~3.5% (Zhou 2016).
    Allergen(RXNORM_SYSTEM, "5640", "ibuprofen", "medication", 0.02),
    # Peanut: ~2.2% of children, 1.8% of adults (Gupta et al., Pediatrics 2018 / JAMA Netw Open 2019).
    Allergen(SNOMED_SYSTEM, "762952008", "Peanut (substance)", "food", 0.02),
    # Shellfish: 2.9% of adults (Gupta et al., JAMA Netw Open 2019).
    Allergen(SNOMED_SYSTEM, "735029006", "Shellfish (substance)", "food", 0.025, min_age=2),
    # Latex: ~1-4% of the general population (Wu et al., 2016 meta-analysis: 4.3% overall,
    # lower in non-health-care workers).
    Allergen(SNOMED_SYSTEM, "111088007", "Latex (substance)", "environment", 0.015, min_age=5),
    # Bee venom: systemic sting reactions in ~3% of adults (Golden, JACI 2017); labels fewer.
    Allergen(SNOMED_SYSTEM, "288328004", "Bee venom (substance)", "environment", 0.01, min_age=3),
)
PENICILLIN = "764146007"
# Reactions recorded with an allergy (SNOMED CT), by category.
REACTIONS = {
    "medication": (
        ("271807003", "Eruption of skin (disorder)"),
        ("247472004", "Wheal (finding)"),
        ("422587007", "Nausea (finding)"),
        ("39579001", "Anaphylaxis (disorder)"),
    ),
    "food": (("247472004", "Wheal (finding)"), ("39579001", "Anaphylaxis (disorder)")),
    "environment": (("271807003", "Eruption of skin (disorder)"), ("267036007", "Dyspnea (finding)")),
}
# Most penicillin labels are never confirmed: over 90% are not true allergies (Shenoy 2019).
UNCONFIRMED_SHARE = 0.6
RESOLVED_SHARE = 0.03  # de-labeled after testing or outgrown


@dataclass(frozen=True)
class Allergy:
    """One AllergyIntolerance: an allergen, or ``allergen=None`` for "no known allergy"."""

    allergen: Allergen | None
    clinical_status: str
    verification_status: str
    allergy_type: str  # allergy | intolerance
    criticality: str
    reaction: tuple[str, str] | None


def allergy_list(rng: Random, age: int) -> list[Allergy]:
    found = [a for a in ALLERGENS if age >= a.min_age and rng.random() < a.prevalence]
    if not found:
        if rng.random() < NKA_SHARE:
            return [Allergy(None, "active", "confirmed", "allergy", "low", None)]
        return []
    out = []
    for allergen in found:
        reaction = rng.choice(REACTIONS[allergen.category])
        intolerance = allergen.code == "2670" or reaction[0] == "422587007"
        severe = reaction[0] == "39579001"
        clinical = "resolved" if rng.random() < RESOLVED_SHARE else "active"
        confirmed = allergen.category == "food" or rng.random() >= UNCONFIRMED_SHARE
        out.append(
            Allergy(
                allergen=allergen,
                clinical_status=clinical,
                verification_status="confirmed" if confirmed else "unconfirmed",
                allergy_type="intolerance" if intolerance else "allergy",
                criticality="high" if severe else "low" if intolerance else rng.choice(("low", "high")),
                reaction=reaction,
            )
        )
    return out
