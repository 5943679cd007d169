"""Clinical code sets the simulated EHRs use: ICD-10-CM diagnoses and CPT services.

Diagnoses are real billable ICD-10-CM codes from ``simple_icd_10_cm``: a hand-picked list of
common primary-care codes carries most of the weight (so marts show a believable top-20), and a
long tail drawn from every billable code keeps code-level joins and validations honest. CPT
displays are short descriptions written for carehouse, not the AMA descriptors.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from dataclasses import dataclass
from random import Random
from typing import Any

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"

# Share of diagnoses drawn from the common list; the rest come from the long tail.
COMMON_SHARE = 0.85
# External-cause chapters (V00-Y99) are never a primary encounter diagnosis.
_TAIL_EXCLUDED_PREFIXES = ("V", "W", "X", "Y")


@dataclass(frozen=True)
class Diagnosis:
    code: str
    weight: float
    chronic: bool = False
    min_age: int = 0


COMMON_DIAGNOSES: tuple[Diagnosis, ...] = (
    Diagnosis("I10", 10, chronic=True, min_age=30),
    Diagnosis("E11.9", 7, chronic=True, min_age=30),
    Diagnosis("E78.5", 7, chronic=True, min_age=30),
    Diagnosis("J06.9", 6),
    Diagnosis("M54.50", 5, min_age=16),
    Diagnosis("F41.1", 4, chronic=True, min_age=12),
    Diagnosis("F32.A", 4, chronic=True, min_age=12),
    Diagnosis("E66.9", 3, chronic=True, min_age=5),
    Diagnosis("J45.909", 3, chronic=True, min_age=2),
    Diagnosis("K21.9", 3, chronic=True, min_age=18),
    Diagnosis("E03.9", 3, chronic=True, min_age=18),
    Diagnosis("N39.0", 3),
    Diagnosis("J02.9", 3),
    Diagnosis("Z23", 3),
    Diagnosis("J20.9", 2),
    Diagnosis("R05.9", 2),
    Diagnosis("R10.9", 2),
    Diagnosis("R51.9", 2),
    Diagnosis("M25.561", 2, min_age=16),
    Diagnosis("R53.83", 2),
    Diagnosis("E55.9", 2, chronic=True, min_age=18),
    Diagnosis("D64.9", 2),
    Diagnosis("R73.03", 2, chronic=True, min_age=30),
    Diagnosis("Z79.899", 2, min_age=18),
    Diagnosis("I25.10", 2, chronic=True, min_age=45),
    Diagnosis("I48.91", 1.5, chronic=True, min_age=50),
    Diagnosis("J44.9", 1.5, chronic=True, min_age=45),
    Diagnosis("G47.00", 1.5, chronic=True, min_age=18),
    Diagnosis("B34.9", 1.5),
    Diagnosis("H66.90", 1.5),
    Diagnosis("J30.9", 1.5, chronic=True, min_age=5),
    Diagnosis("R07.9", 1.5, min_age=12),
    Diagnosis("N18.30", 1, chronic=True, min_age=50),
    Diagnosis("G43.909", 1, chronic=True, min_age=12),
    Diagnosis("F90.9", 1, chronic=True, min_age=5),
    Diagnosis("M17.11", 1, chronic=True, min_age=50),
    Diagnosis("K59.00", 1),
    Diagnosis("L30.9", 1),
    Diagnosis("L20.9", 1),
    Diagnosis("M25.562", 1, min_age=16),
    Diagnosis("R42", 1),
    Diagnosis("S93.401A", 1, min_age=5),
    Diagnosis("Z71.3", 1),
    Diagnosis("Z13.220", 1, min_age=18),
    Diagnosis("Z12.31", 1, min_age=40),
    Diagnosis("Z79.4", 1, min_age=30),
)

# Preventive visits carry the exam code instead of a sampled diagnosis.
ADULT_EXAM_CODES = ("Z00.00", "Z00.01")
CHILD_EXAM_CODE = "Z00.129"


@dataclass(frozen=True)
class Cpt:
    code: str
    display: str
    weight: float = 1.0
    settings: str = "AMB EMER IMP"  # encounter classes where the service is performed


# Evaluation and management (visit) codes: the Encounter.type and the visit's billed line.
VISIT_CPT: dict[str, Cpt] = {
    c.code: c
    for c in (
        Cpt("99202", "Office visit, new patient, straightforward decision making", 10),
        Cpt("99203", "Office visit, new patient, low complexity", 45),
        Cpt("99204", "Office visit, new patient, moderate complexity", 35),
        Cpt("99205", "Office visit, new patient, high complexity", 10),
        Cpt("99212", "Office visit, established patient, straightforward decision making", 10),
        Cpt("99213", "Office visit, established patient, low complexity", 45),
        Cpt("99214", "Office visit, established patient, moderate complexity", 35),
        Cpt("99215", "Office visit, established patient, high complexity", 10),
        Cpt("99281", "Emergency department visit, minimal problem", 5),
        Cpt("99282", "Emergency department visit, straightforward", 15),
        Cpt("99283", "Emergency department visit, low complexity", 35),
        Cpt("99284", "Emergency department visit, moderate complexity", 30),
        Cpt("99285", "Emergency department visit, high complexity", 15),
        Cpt("99221", "Initial hospital inpatient care, low complexity", 25),
        Cpt("99222", "Initial hospital inpatient care, moderate complexity", 45),
        Cpt("99223", "Initial hospital inpatient care, high complexity", 30),
        Cpt("99391", "Preventive visit, established patient, under 1 year"),
        Cpt("99392", "Preventive visit, established patient, age 1-4"),
        Cpt("99393", "Preventive visit, established patient, age 5-11"),
        Cpt("99394", "Preventive visit, established patient, age 12-17"),
        Cpt("99395", "Preventive visit, established patient, age 18-39"),
        Cpt("99396", "Preventive visit, established patient, age 40-64"),
        Cpt("99397", "Preventive visit, established patient, age 65 and over"),
    )
}
NEW_PATIENT_VISITS = ("99202", "99203", "99204", "99205")
ESTABLISHED_VISITS = ("99212", "99213", "99214", "99215")
EMERGENCY_VISITS = ("99281", "99282", "99283", "99284", "99285")
INPATIENT_VISITS = ("99221", "99222", "99223")
# (upper age bound exclusive, preventive code)
PREVENTIVE_BY_AGE = ((1, "99391"), (5, "99392"), (12, "99393"), (18, "99394"), (40, "99395"), (65, "99396"))
PREVENTIVE_65_PLUS = "99397"


def preventive_visit(age: int) -> str:
    """The age-banded preventive-medicine visit code."""
    for upper, code in PREVENTIVE_BY_AGE:
        if age < upper:
            return code
    return PREVENTIVE_65_PLUS


# Services billed on top of the visit.
SERVICE_CPT: tuple[Cpt, ...] = (
    Cpt("36415", "Routine venipuncture", 14),
    Cpt("85025", "Complete blood count with automated differential", 10),
    Cpt("80053", "Comprehensive metabolic panel", 8),
    Cpt("80048", "Basic metabolic panel", 5),
    Cpt("80061", "Lipid panel", 6, "AMB"),
    Cpt("83036", "Hemoglobin A1c", 5, "AMB"),
    Cpt("84443", "Thyroid stimulating hormone", 3, "AMB IMP"),
    Cpt("82947", "Glucose, quantitative, blood", 2),
    Cpt("81003", "Urinalysis, automated, without microscopy", 4),
    Cpt("87086", "Urine culture, colony count", 2),
    Cpt("87880", "Rapid streptococcus group A antigen test", 3, "AMB EMER"),
    Cpt("87635", "SARS-CoV-2 amplified probe test", 2),
    Cpt("93000", "Electrocardiogram, 12 leads, with interpretation and report", 5),
    Cpt("93306", "Transthoracic echocardiography, complete", 1, "AMB IMP"),
    Cpt("71046", "Chest X-ray, 2 views", 5),
    Cpt("73562", "X-ray of knee, 3 views", 1.5, "AMB EMER"),
    Cpt("72100", "X-ray of lumbosacral spine, 2 or 3 views", 1.5, "AMB EMER"),
    Cpt("70450", "CT head or brain without contrast", 1.5, "EMER IMP"),
    Cpt("71250", "CT thorax without contrast", 1, "EMER IMP"),
    Cpt("74177", "CT abdomen and pelvis with contrast", 1.5, "EMER IMP"),
    Cpt("76700", "Ultrasound, abdomen, complete", 1, "AMB EMER IMP"),
    Cpt("90471", "Immunization administration, first vaccine", 5, "AMB"),
    Cpt("90686", "Influenza vaccine, quadrivalent, preservative free, intramuscular", 3, "AMB"),
    Cpt("90715", "Tdap vaccine, intramuscular, age 7 and over", 1, "AMB"),
    Cpt("96372", "Therapeutic injection, subcutaneous or intramuscular", 3),
    Cpt("96374", "Intravenous push, single drug", 2, "EMER IMP"),
    Cpt("96360", "Intravenous infusion, hydration, first hour", 2, "EMER IMP"),
    Cpt("94640", "Nebulizer treatment for airway obstruction", 1.5, "AMB EMER"),
    Cpt("51702", "Insertion of temporary indwelling bladder catheter", 1, "EMER IMP"),
    Cpt("12001", "Simple repair of superficial wound, 2.5 cm or less", 1, "AMB EMER"),
    Cpt("10060", "Incision and drainage of abscess, simple", 1, "AMB EMER"),
    Cpt("20610", "Arthrocentesis or injection, major joint", 1, "AMB"),
    Cpt("11102", "Tangential biopsy of skin, single lesion", 1, "AMB"),
    Cpt("17110", "Destruction of benign lesions, up to 14", 1, "AMB"),
    Cpt("69210", "Removal of impacted cerumen, one ear", 1, "AMB"),
    Cpt("99406", "Smoking and tobacco cessation counseling, 3 to 10 minutes", 1, "AMB"),
    Cpt("45378", "Colonoscopy, diagnostic", 0.5, "AMB IMP"),
    Cpt("43239", "Upper GI endoscopy with biopsy", 0.5, "AMB IMP"),
    Cpt("99291", "Critical care, first 30 to 74 minutes", 1, "EMER IMP"),
)


class WeightedChoice:
    """Draws items by weight with precomputed cumulative weights (``random.choices`` per call is slow)."""

    def __init__(self, items: tuple[str, ...], weights: tuple[float, ...]) -> None:
        if not items or len(items) != len(weights):
            raise ValueError("a weighted choice needs one weight per item and at least one item")
        self.items = items
        self.cum_weights = tuple(itertools.accumulate(weights))
        self._total = self.cum_weights[-1]
        self._last = len(items) - 1

    def draw(self, rng: Random) -> str:
        """Same draw as ``rng.choices(items, cum_weights=...)[0]``, without its per-call overhead."""
        return self.items[bisect.bisect(self.cum_weights, rng.random() * self._total, 0, self._last)]


@functools.cache
def billable_tail() -> tuple[str, ...]:
    """Every billable (leaf) ICD-10-CM code except external causes, in the package's order."""
    cm = icd10_cm_module()
    return tuple(
        code
        for code in cm.get_all_codes(with_dots=True)
        if cm.is_leaf(code) and not code.startswith(_TAIL_EXCLUDED_PREFIXES)
    )


def icd10_cm_module() -> Any:
    """The ``simple_icd_10_cm`` module, imported on first use: loading the code set costs about
    200 MB and seconds, which the other simulators (they import this module's tables) never need."""
    import simple_icd_10_cm

    return simple_icd_10_cm


@functools.cache
def icd10_display(code: str) -> str:
    return str(icd10_cm_module().get_description(code))


def check_codes() -> None:
    """Fail loudly if a hand-picked code is not billable in the installed ICD-10-CM release."""
    codes = [d.code for d in COMMON_DIAGNOSES] + [*ADULT_EXAM_CODES, CHILD_EXAM_CODE]
    cm = icd10_cm_module()
    invalid = [code for code in codes if not (cm.is_valid_item(code) and cm.is_leaf(code))]
    if invalid:
        raise ValueError(f"not billable ICD-10-CM codes in simple_icd_10_cm: {invalid}")


class DiagnosisSampler:
    """Diagnoses weighted toward common primary-care codes, with a long tail of billable codes."""

    def __init__(self) -> None:
        check_codes()
        self._common = WeightedChoice(
            tuple(d.code for d in COMMON_DIAGNOSES), tuple(d.weight for d in COMMON_DIAGNOSES)
        )
        self._tail = billable_tail()
        self._chronic_by_age: dict[int, WeightedChoice] = {}

    def draw(self, rng: Random) -> str:
        if rng.random() < COMMON_SHARE:
            return self._common.draw(rng)
        return rng.choice(self._tail)

    def chronic_problem(self, rng: Random, age: int) -> str | None:
        """A chronic problem plausible at ``age`` (``None`` when none is: infants)."""
        band = min(age, 50)
        chooser = self._chronic_by_age.get(band)
        if chooser is None:
            eligible = [d for d in COMMON_DIAGNOSES if d.chronic and d.min_age <= band]
            if not eligible:
                return None
            chooser = WeightedChoice(tuple(d.code for d in eligible), tuple(d.weight for d in eligible))
            self._chronic_by_age[band] = chooser
        return chooser.draw(rng)


CHRONIC_CODES = frozenset(d.code for d in COMMON_DIAGNOSES if d.chronic)


def services_for(encounter_class: str) -> WeightedChoice:
    return _SERVICES_BY_CLASS[encounter_class]


_SERVICES_BY_CLASS = {
    klass: WeightedChoice(
        tuple(c.code for c in SERVICE_CPT if klass in c.settings.split()),
        tuple(c.weight for c in SERVICE_CPT if klass in c.settings.split()),
    )
    for klass in ("AMB", "EMER", "IMP")
}
VISIT_CHOICES = {
    name: WeightedChoice(codes, tuple(VISIT_CPT[code].weight for code in codes))
    for name, codes in (
        ("new", NEW_PATIENT_VISITS),
        ("established", ESTABLISHED_VISITS),
        ("EMER", EMERGENCY_VISITS),
        ("IMP", INPATIENT_VISITS),
    )
}
CPT_DISPLAY: dict[str, str] = {c.code: c.display for c in (*VISIT_CPT.values(), *SERVICE_CPT)}
