"""Observations a finished visit records: vital signs (US Core vital-signs profiles) and lab results.

Values are plausible for the patient: a body (height and BMI percentile) fixed per patient, so a
child grows and an adult's weight stays about the same from visit to visit; blood pressure rises
with age and with hypertension, glucose and HbA1c with diabetes, creatinine with chronic kidney
disease. Lab results follow the lab services billed on the visit (a metabolic panel gives
glucose, creatinine, potassium and sodium), so Observations, Procedures and DiagnosticReports
tell one story. Only facts here; the FHIR shapes are in ``fhir_clinical``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from ingestion.ehr.simulator.clock import local_date
from ingestion.ehr.simulator.fhir import Visit
from ingestion.ehr.simulator.patients import PatientProfile

# Vital signs are taken at nearly every visit (rooming / triage is standard nursing workflow;
# NAMCS 2019: blood pressure recorded at ~70% of adult office visits, most others take at
# least weight or pulse). Each vital of a class has its own share, kept modest so the default
# warehouse stays about the same size: on average ~3 vitals per ambulatory visit.
VITALS_SHARE = {"AMB": 0.95, "EMER": 0.99, "IMP": 0.99}
# (loinc, share of visits of the class that record it); BP only from age 3 (AAP 2017 guideline).
AMB_VITALS = (("85354-9", 0.9), ("8867-4", 0.9), ("29463-7", 0.6), ("8310-5", 0.3), ("59408-5", 0.15))
EMER_VITALS = (
    ("85354-9", 1.0),
    ("8867-4", 1.0),
    ("9279-1", 0.9),
    ("8310-5", 0.9),
    ("59408-5", 0.9),
    ("29463-7", 0.3),
)
IMP_VITALS = (*EMER_VITALS[:5], ("29463-7", 0.9), ("8302-2", 0.5))
VITALS_BY_CLASS = {"AMB": AMB_VITALS, "EMER": EMER_VITALS, "IMP": IMP_VITALS}
# Fever at the visit (share of visits): ED ~10% of visits are febrile (NHAMCS "fever" chief
# complaint ~5-8%, plus febrile infections); primary care less.
FEVER_SHARE = {"AMB": 0.04, "EMER": 0.1, "IMP": 0.08}
# Results are corrected rarely: CAP Q-Probes (Valenstein et al., Arch Pathol Lab Med 2006)
# found ~1.5 corrected reports per 1,000; a few more vitals are charted on the wrong patient.
AMENDED_RATE = 0.004
ENTERED_IN_ERROR_RATE = 0.003


@dataclass(frozen=True)
class Code:
    loinc: str
    display: str
    unit: str  # UCUM code
    category: str  # vital-signs | laboratory


CODES: dict[str, Code] = {
    c.loinc: c
    for c in (
        Code("85354-9", "Blood pressure panel with all children optional", "mm[Hg]", "vital-signs"),
        Code("8480-6", "Systolic blood pressure", "mm[Hg]", "vital-signs"),
        Code("8462-4", "Diastolic blood pressure", "mm[Hg]", "vital-signs"),
        Code("8867-4", "Heart rate", "/min", "vital-signs"),
        Code("8310-5", "Body temperature", "Cel", "vital-signs"),
        Code("9279-1", "Respiratory rate", "/min", "vital-signs"),
        Code("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "vital-signs"),
        Code("29463-7", "Body weight", "kg", "vital-signs"),
        Code("8302-2", "Body height", "cm", "vital-signs"),
        Code("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "vital-signs"),
        Code("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory"),
        Code("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory"),
        Code("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "laboratory"),
        Code("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "laboratory"),
        Code("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", "laboratory"),
        Code("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", "laboratory"),
    )
}
# US Core Pulse Oximetry also carries the generic SpO2 code.
PULSE_OX_EXTRA = ("2708-6", "Oxygen saturation in Arterial blood")
# Analytes each billed lab service reports (CPT -> LOINC).
LABS_FOR_SERVICE = {
    "80053": ("2345-7", "2160-0", "2823-3", "2951-2"),
    "80048": ("2345-7", "2160-0", "2823-3", "2951-2"),
    "85025": ("718-7",),
    "83036": ("4548-4",),
    "82947": ("2345-7",),
}


@dataclass(frozen=True)
class Measurement:
    """One Observation: a value (or BP components) with its unit, range and interpretation."""

    code: Code
    effective: datetime
    value: float | None
    decimals: int
    components: tuple[tuple[Code, float], ...] = ()
    low: float | None = None
    high: float | None = None
    issued: datetime | None = None  # labs: when the result was released

    @property
    def interpretation(self) -> str | None:
        """H or L against the reference range; None when normal (and for vitals)."""
        if self.value is None or self.low is None or self.high is None:
            return None
        return "H" if self.value > self.high else "L" if self.value < self.low else None


# CDC growth charts (2000), 50th percentile by year of age 0-18: stature (cm) and BMI.
_CHILD_HEIGHT = {
    "male": (50, 76, 88, 96, 103, 110, 116, 122, 128, 134, 139, 144, 150, 157, 164, 170, 174, 175.5, 176),
    "female": (49, 74, 86, 95, 102, 109, 115, 121, 127, 133, 139, 145, 151, 157, 160, 162, 163, 163.5, 164),
}
_CHILD_BMI = (13.4, 17.2, 16.4, 15.9, 15.5, 15.3, 15.3, 15.5, 15.8, 16.2, 16.7, 17.3, 18.0, 18.7, 19.4, 20.0,
              20.6, 21.1, 21.6)  # fmt: skip
# Adults (NHANES 2015-2018): mean height 175.4 cm men, 161.7 cm women (SD ~7); BMI median ~28.5
# and mean 29.6 (NHANES 2017-2020), right-skewed.
ADULT_HEIGHT = {"male": (175.4, 7.6), "female": (161.7, 7.1)}
ADULT_BMI_MEDIAN = 28.5


@dataclass(frozen=True)
class Body:
    """A patient's fixed build: height and BMI percentiles (as z-scores)."""

    height_z: float
    bmi_z: float


def body_of(roster_seed: int, system: str, profile: PatientProfile) -> Body:
    rng = Random(f"{roster_seed}:{system}:body:{profile.patient_id}")
    bmi_z = rng.gauss(0, 1)
    if "E66.9" in profile.problems:  # obesity on the problem list: BMI 30 or more
        bmi_z = abs(bmi_z) + 0.4
    return Body(height_z=max(-2.5, min(2.5, rng.gauss(0, 1))), bmi_z=max(-2.2, min(3.0, bmi_z)))


def _sex(profile: PatientProfile) -> str:
    return "female" if profile.gender == "female" else "male"


def _interpolate(table: tuple[float, ...], age: float) -> float:
    index = min(int(age), len(table) - 2)
    fraction = min(age - index, 1.0)
    return table[index] + (table[index + 1] - table[index]) * fraction


def height_cm(profile: PatientProfile, body: Body, age: float) -> float:
    sex = _sex(profile)
    if age >= 18:
        mean, sd = ADULT_HEIGHT[sex]
        return mean + sd * body.height_z
    return _interpolate(_CHILD_HEIGHT[sex], age) * (1 + 0.04 * body.height_z)


def bmi(body: Body, age: float) -> float:
    if age >= 18:
        return ADULT_BMI_MEDIAN * math.exp(0.2 * body.bmi_z)
    return _interpolate(_CHILD_BMI, age) * math.exp(0.12 * body.bmi_z)


def age_years(profile: PatientProfile, at: datetime) -> float:
    return max(0.0, (local_date(at) - profile.birth_date).days / 365.25)


# Age bands (upper bound exclusive) for heart and respiratory rate: (mean, sd).
_RATE_BANDS = (1, 3, 6, 12, 18)
_HEART_RATE = ((130, 12), (112, 12), (100, 10), (88, 10), (78, 10), (74, 10))
_RESPIRATORY_RATE = ((36, 5), (28, 4), (24, 3), (20, 3), (17, 2), (16, 2))


def _band(age: float) -> int:
    return bisect.bisect_right(_RATE_BANDS, age)


def vital_signs(
    rng: Random, profile: PatientProfile, body: Body, visit: Visit, preventive: bool
) -> list[Measurement]:
    """The vitals of one finished visit (possibly none)."""
    klass = visit.encounter_class
    if rng.random() >= VITALS_SHARE[klass]:
        return []
    end = visit.end or visit.start
    span = max(1, int((end - visit.start) / timedelta(minutes=1)))
    at = visit.start + timedelta(minutes=min(span - 1, rng.randint(3, 15)))
    age = age_years(profile, at)
    band = _band(age)
    fever = rng.random() < FEVER_SHARE[klass]
    acute = 8 if klass == "EMER" else 0
    wanted = [loinc for loinc, share in VITALS_BY_CLASS[klass] if rng.random() < share]
    if preventive:  # well visits measure growth: height, weight and BMI
        wanted += [c for c in ("29463-7", "8302-2") if c not in wanted]
    out: list[Measurement] = []
    height = height_cm(profile, body, age) * rng.uniform(0.995, 1.005)
    weight = bmi(body, age) * (height / 100) ** 2 * rng.uniform(0.98, 1.02)
    for loinc in wanted:
        code = CODES[loinc]
        if loinc == "85354-9":
            if age < 3:
                continue
            systolic, diastolic = _blood_pressure(rng, profile, age)
            parts = ((CODES["8480-6"], systolic), (CODES["8462-4"], diastolic))
            out.append(Measurement(code, at, None, 0, components=parts))
            continue
        if loinc == "8867-4":
            mean, sd = _HEART_RATE[band]
            value = rng.gauss(mean + acute + (12 if fever else 0), sd)
        elif loinc == "9279-1":
            mean, sd = _RESPIRATORY_RATE[band]
            value = rng.gauss(mean + (2 if fever else 0), sd)
        elif loinc == "8310-5":
            value = rng.uniform(38.0, 39.8) if fever else rng.gauss(36.8, 0.25)
        elif loinc == "59408-5":
            mean = 93.0 if "J44.9" in profile.problems else 97.8
            value = min(100.0, rng.gauss(mean, 1.3))
        elif loinc == "29463-7":
            value = weight
        else:  # 8302-2
            value = height
        decimals = 1 if loinc in ("8310-5", "29463-7", "8302-2") else 0
        out.append(Measurement(code, at, round(value, decimals), decimals))
    if preventive and age >= 2:
        out.append(Measurement(CODES["39156-5"], at, round(weight / (height / 100) ** 2, 1), 1))
    return out


def _blood_pressure(rng: Random, profile: PatientProfile, age: float) -> tuple[float, float]:
    """Systolic rises with age (NHANES); hypertension on the problem list adds ~12/7 mm Hg."""
    hypertensive = "I10" in profile.problems
    if age < 18:
        systolic = rng.gauss(95 + 1.3 * (age - 3), 8)
        diastolic = rng.gauss(58 + 0.8 * (age - 3), 6)
    else:
        systolic = rng.gauss(112 + 0.45 * (age - 20) + (12 if hypertensive else 0), 11)
        diastolic = rng.gauss(72 + 0.12 * min(age - 20, 40) + (7 if hypertensive else 0), 8)
    systolic = round(max(75.0, min(210.0, systolic)))
    diastolic = round(max(40.0, min(systolic - 20.0, diastolic)))
    return systolic, diastolic


def _range(loinc: str, profile: PatientProfile, age: float) -> tuple[float, float]:
    """Reference ranges as typical US hospital labs report them (adult / pediatric)."""
    female = profile.gender == "female"
    if loinc == "2160-0":
        if age < 12:
            return 0.3, 0.7
        if age < 18:
            return 0.5, 1.0
        return (0.59, 1.04) if female else (0.74, 1.35)
    if loinc == "718-7":
        if age < 12:
            return 11.5, 15.5
        return (11.6, 15.0) if female else (13.2, 16.6)
    return {"2345-7": (70.0, 99.0), "4548-4": (4.0, 5.6), "2823-3": (3.5, 5.1), "2951-2": (135.0, 145.0)}[
        loinc
    ]


def _lab_value(rng: Random, loinc: str, profile: PatientProfile, age: float) -> tuple[float, int]:
    problems = profile.problems
    diabetic = "E11.9" in problems or "Z79.4" in problems
    prediabetic = "R73.03" in problems
    if loinc == "2345-7":
        median = 150.0 if diabetic else 108.0 if prediabetic else 92.0
        return round(median * math.exp(rng.gauss(0, 0.18 if diabetic else 0.11))), 0
    if loinc == "4548-4":
        mean, sd = (7.4, 1.0) if diabetic else (5.9, 0.2) if prediabetic else (5.3, 0.25)
        return round(max(4.2, rng.gauss(mean, sd)), 1), 1
    if loinc == "2160-0":
        if age < 18:
            value = rng.gauss(0.3 + 0.035 * age, 0.08)
        else:
            value = rng.gauss(0.75 if profile.gender == "female" else 0.95, 0.14)
        if "N18.30" in problems:  # CKD stage 3: eGFR 30-59
            value = rng.uniform(1.3, 2.2)
        return round(max(0.2, value), 2), 2
    if loinc == "718-7":
        mean = 12.6 if age < 12 else 13.3 if profile.gender == "female" else 14.8
        if "D64.9" in problems:
            mean -= 2.5
        return round(rng.gauss(mean, 1.0), 1), 1
    if loinc == "2823-3":
        return round(rng.gauss(4.5 if "N18.30" in problems else 4.2, 0.35), 1), 1
    return round(rng.gauss(139.5, 2.4)), 0  # 2951-2


def lab_results(
    rng: Random, profile: PatientProfile, services: list[tuple[str, datetime]], cutoff: datetime
) -> list[Measurement]:
    """Results of the lab services billed on the visit, each analyte once."""
    out: list[Measurement] = []
    seen: set[str] = set()
    for service, collected in services:
        for loinc in LABS_FOR_SERVICE.get(service, ()):
            if loinc in seen:
                continue
            seen.add(loinc)
            age = age_years(profile, collected)
            low, high = _range(loinc, profile, age)
            value, decimals = _lab_value(rng, loinc, profile, age)
            issued = min(collected + timedelta(minutes=rng.randint(30, 360)), cutoff - timedelta(seconds=1))
            out.append(
                Measurement(CODES[loinc], collected, value, decimals, low=low, high=high, issued=issued)
            )
    return out
