"""What an ADT message says about the patient's care: diagnosis, priority and payer.

Diagnoses are real billable ICD-10-CM codes (checked against ``simple_icd_10_cm`` before the
first one is drawn, so a code retired by a newer release fails here rather than in a dbt
relationship test; not at import: the code set costs seconds and ~200 MB, which a run that
simulates no ADT event never needs), chosen to
fit the ward: obstetric codes only for women of child-bearing age in Maternity, perinatal codes
only for newborns, prostate cancer only for men. Respiratory codes weigh four times as much in
the flu season, so winter marts show the surge in the diagnosis mix as well as in the volume.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from random import Random

from ingestion.adt.simulator.departments import (
    CARDIOLOGY,
    EMERGENCY,
    ICU,
    MATERNITY,
    ONCOLOGY,
    PEDIATRICS,
    SURGERY,
)
from ingestion.ehr.simulator.codes import WeightedChoice, icd10_cm_module

SURGE_RESPIRATORY_WEIGHT = 4.0


@dataclass(frozen=True)
class Dx:
    """A diagnosis a ward admits for, with who can have it."""

    code: str
    weight: float
    min_age: int = 0
    max_age: int = 120
    sex: str | None = None  # "F" or "M" when the code is sex-specific
    respiratory: bool = False

    def fits(self, age: int, gender: str) -> bool:
        return self.min_age <= age <= self.max_age and (self.sex is None or self.sex == gender)


DIAGNOSES: dict[str, tuple[Dx, ...]] = {
    EMERGENCY: (
        Dx("R07.9", 8, min_age=18),  # chest pain
        Dx("R10.9", 8),  # abdominal pain
        Dx("J06.9", 6, respiratory=True),  # upper respiratory infection
        Dx("J11.1", 4, respiratory=True),  # influenza, virus not identified
        Dx("J10.1", 3, respiratory=True),  # influenza, identified virus
        Dx("U07.1", 2, respiratory=True),  # COVID-19
        Dx("J20.9", 3, respiratory=True),  # acute bronchitis
        Dx("R06.02", 3, respiratory=True),  # shortness of breath
        Dx("J45.901", 2, min_age=2, respiratory=True),  # asthma exacerbation
        Dx("S93.401A", 4, min_age=5),  # ankle sprain
        Dx("S52.501A", 3),  # distal radius fracture
        Dx("S01.01XA", 3),  # scalp laceration
        Dx("S06.0X0A", 2),  # concussion
        Dx("R51.9", 4),  # headache
        Dx("N39.0", 4),  # urinary tract infection
        Dx("R55", 3, min_age=12),  # syncope
        Dx("R11.2", 3),  # nausea with vomiting
        Dx("K52.9", 3),  # gastroenteritis
        Dx("M54.50", 3, min_age=16),  # low back pain
        Dx("T78.40XA", 2),  # allergic reaction
        Dx("R50.9", 3),  # fever
        Dx("F10.129", 1.5, min_age=15),  # alcohol intoxication
        Dx("L03.116", 2),  # cellulitis, left lower limb
        Dx("N23", 2, min_age=16),  # renal colic
        Dx("R42", 2),  # dizziness
    ),
    SURGERY: (
        Dx("K35.80", 8, min_age=5),  # acute appendicitis
        Dx("K80.20", 6, min_age=18),  # gallstones
        Dx("K81.0", 5, min_age=18),  # acute cholecystitis
        Dx("K40.90", 5, min_age=18),  # inguinal hernia
        Dx("M17.11", 6, min_age=45),  # knee osteoarthritis (arthroplasty)
        Dx("M16.11", 5, min_age=45),  # hip osteoarthritis (arthroplasty)
        Dx("S72.001A", 5, min_age=60),  # hip fracture
        Dx("K56.609", 4, min_age=18),  # bowel obstruction
        Dx("K57.32", 4, min_age=35),  # diverticulitis
        Dx("N20.0", 3, min_age=18),  # kidney stone
        Dx("K43.2", 2, min_age=25),  # incisional hernia
        Dx("K85.90", 3, min_age=18),  # acute pancreatitis
        Dx("T81.41XA", 2, min_age=18),  # surgical site infection
        Dx("S82.201A", 2, min_age=16),  # tibial shaft fracture
    ),
    ICU: (
        Dx("A41.9", 10),  # sepsis
        Dx("R65.21", 4),  # septic shock
        Dx("J96.01", 7, respiratory=True),  # acute hypoxic respiratory failure
        Dx("J18.9", 7, respiratory=True),  # pneumonia
        Dx("J15.9", 2, respiratory=True),  # bacterial pneumonia
        Dx("J44.1", 5, min_age=45, respiratory=True),  # COPD exacerbation
        Dx("J69.0", 2, min_age=50),  # aspiration pneumonia
        Dx("I21.4", 4, min_age=35),  # NSTEMI
        Dx("I63.9", 5, min_age=40),  # ischemic stroke
        Dx("I61.9", 2, min_age=40),  # intracerebral hemorrhage
        Dx("I46.9", 2, min_age=30),  # cardiac arrest
        Dx("J81.0", 2, min_age=50),  # acute pulmonary edema
        Dx("E11.10", 2, min_age=18),  # type 2 diabetic ketoacidosis
        Dx("E10.10", 2, min_age=5),  # type 1 diabetic ketoacidosis
        Dx("N17.9", 3, min_age=18),  # acute kidney injury
        Dx("S06.5X0A", 2),  # traumatic subdural hemorrhage
        Dx("T40.2X1A", 2, min_age=15),  # opioid poisoning
        Dx("K92.2", 3, min_age=30),  # GI hemorrhage
    ),
    PEDIATRICS: (
        Dx("J21.9", 8, max_age=2, respiratory=True),  # bronchiolitis
        Dx("J18.9", 7, respiratory=True),  # pneumonia
        Dx("J45.901", 6, min_age=2, respiratory=True),  # asthma exacerbation
        Dx("J10.1", 3, respiratory=True),  # influenza
        Dx("J11.1", 3, respiratory=True),  # influenza
        Dx("J05.0", 3, max_age=6, respiratory=True),  # croup
        Dx("A08.4", 6),  # viral gastroenteritis
        Dx("E86.0", 5),  # dehydration
        Dx("R56.00", 3, max_age=5),  # febrile seizure
        Dx("N39.0", 4),  # urinary tract infection
        Dx("K35.80", 4, min_age=4),  # appendicitis
        Dx("P59.9", 3, max_age=0),  # neonatal jaundice
        Dx("B34.9", 4),  # viral infection
        Dx("L03.116", 2),  # cellulitis
        Dx("E10.10", 2, min_age=3),  # type 1 diabetic ketoacidosis
        Dx("R50.9", 3),  # fever
    ),
    MATERNITY: (
        Dx("O80", 20, sex="F"),  # full-term uncomplicated delivery
        Dx("O82", 6, sex="F"),  # cesarean delivery without indication
        Dx("O34.211", 8, sex="F"),  # previous cesarean scar
        Dx("O48.0", 5, sex="F"),  # post-term pregnancy
        Dx("O42.02", 4, sex="F"),  # premature rupture of membranes
        Dx("O13.3", 4, sex="F"),  # gestational hypertension
        Dx("O24.410", 4, sex="F"),  # gestational diabetes
        Dx("O14.03", 3, sex="F"),  # pre-eclampsia
        Dx("O60.14X0", 3, sex="F"),  # preterm labor with preterm delivery
        Dx("O32.1XX0", 2, sex="F"),  # breech presentation
        Dx("O36.5930", 2, sex="F"),  # poor fetal growth
        Dx("O99.214", 2, sex="F"),  # obesity complicating childbirth
        Dx("O70.1", 3, sex="F"),  # second-degree perineal laceration
    ),
    ONCOLOGY: (
        Dx("Z51.11", 10, min_age=18),  # chemotherapy
        Dx("C34.90", 9, min_age=40),  # lung cancer
        Dx("D70.1", 6, min_age=18),  # neutropenia after chemotherapy
        Dx("C18.9", 6, min_age=35),  # colon cancer
        Dx("C50.911", 5, min_age=25, sex="F"),  # breast cancer, right
        Dx("C50.912", 5, min_age=25, sex="F"),  # breast cancer, left
        Dx("C61", 4, min_age=45, sex="M"),  # prostate cancer
        Dx("C25.9", 3, min_age=40),  # pancreatic cancer
        Dx("C83.30", 3, min_age=18),  # diffuse large B-cell lymphoma
        Dx("C79.51", 3, min_age=35),  # bone metastases
        Dx("C92.00", 2, min_age=18),  # acute myeloid leukemia
        Dx("C91.00", 2, min_age=18),  # acute lymphoblastic leukemia
        Dx("C90.00", 2, min_age=45),  # multiple myeloma
        Dx("C56.9", 2, min_age=35, sex="F"),  # ovarian cancer
        Dx("C67.9", 2, min_age=45),  # bladder cancer
        Dx("C20", 2, min_age=35),  # rectal cancer
        Dx("C22.0", 2, min_age=40),  # hepatocellular carcinoma
        Dx("C71.9", 2, min_age=18),  # brain tumour
        Dx("C64.9", 1.5, min_age=40),  # kidney cancer
        Dx("C16.9", 1.5, min_age=40),  # stomach cancer
        Dx("C43.9", 1, min_age=25),  # melanoma
    ),
    CARDIOLOGY: (
        Dx("I21.4", 8, min_age=35),  # NSTEMI
        Dx("I21.3", 4, min_age=35),  # STEMI
        Dx("I50.23", 7, min_age=40),  # acute on chronic systolic heart failure
        Dx("I50.9", 6, min_age=40),  # heart failure
        Dx("I50.33", 2, min_age=50),  # acute on chronic diastolic heart failure
        Dx("I48.91", 7, min_age=40),  # atrial fibrillation
        Dx("I48.0", 3, min_age=40),  # paroxysmal atrial fibrillation
        Dx("I20.0", 5, min_age=35),  # unstable angina
        Dx("I25.10", 4, min_age=40),  # coronary artery disease
        Dx("I11.0", 4, min_age=40),  # hypertensive heart disease with heart failure
        Dx("I16.1", 2, min_age=30),  # hypertensive emergency
        Dx("I26.99", 3, min_age=18),  # pulmonary embolism
        Dx("I47.10", 2, min_age=18),  # supraventricular tachycardia
        Dx("I44.2", 2, min_age=50),  # complete heart block
        Dx("I35.0", 2, min_age=60),  # aortic stenosis
        Dx("I42.0", 1.5, min_age=18),  # dilated cardiomyopathy
        Dx("I49.01", 1, min_age=30),  # ventricular fibrillation
        Dx("R00.1", 1, min_age=40),  # bradycardia
    ),
}

PRIORITIES = ("Emergency", "Urgent", "Elective")
# Unscheduled arrivals: ED patients are mostly emergencies; direct admissions mostly urgent
# (labour, a GP's referral, a transfer from a clinic); ICU direct admissions are emergencies.
_UNSCHEDULED_PRIORITY: dict[str, WeightedChoice] = {
    EMERGENCY: WeightedChoice(PRIORITIES, (66, 34, 0)),
    ICU: WeightedChoice(PRIORITIES, (65, 35, 0)),
    MATERNITY: WeightedChoice(PRIORITIES, (12, 88, 0)),
}
_DIRECT_PRIORITY = WeightedChoice(PRIORITIES, (22, 78, 0))
ELECTIVE = "Elective"

INSURANCE_TYPES = ("commercial", "medicare", "medicaid", "self-pay")
# Cumulative payer mix by age band: (upper age exclusive, cumulative weights in INSURANCE_TYPES order).
_PAYERS_BY_AGE: tuple[tuple[int, tuple[float, ...]], ...] = (
    (18, (0.50, 0.50, 0.95, 1.0)),  # children: commercial or Medicaid/CHIP
    (65, (0.62, 0.68, 0.90, 1.0)),  # adults: a few on Medicare through disability
    (200, (0.10, 0.95, 0.98, 1.0)),  # 65+: Medicare, a few still on an employer plan
)


@functools.cache
def check_codes() -> None:
    """Fail loudly if a listed code is not billable in the installed ICD-10-CM release."""
    cm = icd10_cm_module()
    invalid = [
        dx.code
        for codes in DIAGNOSES.values()
        for dx in codes
        if not (cm.is_valid_item(dx.code) and cm.is_leaf(dx.code))
    ]
    if invalid:
        raise ValueError(f"not billable ICD-10-CM codes in simple_icd_10_cm: {invalid}")


@functools.cache
def _diagnosis_choice(department: str, age: int, gender: str, surge: bool) -> WeightedChoice:
    check_codes()  # once per process (cached), before the first draw
    eligible = [dx for dx in DIAGNOSES[department] if dx.fits(age, gender)]
    if not eligible:
        raise ValueError(f"no {department} diagnosis fits a {age}-year-old {gender}")
    return WeightedChoice(
        tuple(dx.code for dx in eligible),
        tuple(dx.weight * (SURGE_RESPIRATORY_WEIGHT if surge and dx.respiratory else 1.0) for dx in eligible),
    )


def draw_diagnosis(rng: Random, department: str, age: int, gender: str, surge: bool) -> str:
    """A billable diagnosis that fits the ward and the patient; ``surge``: flu season weights."""
    return _diagnosis_choice(department, min(age, 120), gender, surge).draw(rng)


def draw_priority(rng: Random, department: str, scheduled: bool) -> str:
    """Elective for booked admissions; otherwise by ward (ED mostly Emergency)."""
    if scheduled:
        return ELECTIVE
    return _UNSCHEDULED_PRIORITY.get(department, _DIRECT_PRIORITY).draw(rng)


def insurance_for(age: int, u: float) -> str:
    """The payer at ``age`` for a patient whose payer quantile is ``u`` (uniform in [0, 1)).

    A patient keeps one quantile, so their payer is stable until their age band changes
    (turning 65 moves most commercial patients to Medicare), as real coverage is.
    """
    for upper, cumulative in _PAYERS_BY_AGE:
        if age < upper:
            return next(INSURANCE_TYPES[i] for i, edge in enumerate(cumulative) if u < edge)
    raise AssertionError("unreachable: the last age band is open-ended")
