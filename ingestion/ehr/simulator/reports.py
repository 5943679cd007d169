"""Diagnostic reports: which study a finished visit reports on, when, and its one-line conclusion.

A report follows a lab or imaging service billed on the visit when there is one (a CBC report
for a CBC), else a study typical of the care setting. Conclusions come from short templates per
LOINC code, mostly normal findings, so the narrative text is realistic but never patient-specific
free text (no PHI can leak through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from random import Random

from ingestion.ehr.simulator.codes import WeightedChoice

LOINC_SYSTEM = "http://loinc.org"
REPORT_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0074"
CATEGORY_DISPLAY = {
    "LAB": "Laboratory",
    "MB": "Microbiology",
    "RAD": "Radiology",
    "EC": "Electrocardiac",
    "CUS": "Cardiac Ultrasound",
}
REPORT_SHARE = 0.35  # of finished encounters
PRELIMINARY_RESEND = 0.03  # the preliminary version is in the feed too
NORMAL_SHARE = 0.6


@dataclass(frozen=True)
class ReportKind:
    loinc: str
    display: str
    category: str
    turnaround: tuple[int, int]  # minutes from the study to the final report
    normal: str
    findings: tuple[str, ...]


_KINDS: tuple[ReportKind, ...] = (
    ReportKind(
        "58410-2",
        "CBC panel - Blood by Automated count",
        "LAB",
        (30, 240),
        "Complete blood count within normal limits.",
        (
            "Mild normocytic anemia; recommend follow-up CBC in 3 months.",
            "Leukocytosis with neutrophil predominance, consistent with acute infection.",
            "Mild thrombocytopenia; repeat platelet count advised.",
        ),
    ),
    ReportKind(
        "24323-8",
        "Comprehensive metabolic 2000 panel - Serum or Plasma",
        "LAB",
        (45, 300),
        "Comprehensive metabolic panel within normal limits.",
        (
            "Mildly elevated creatinine; repeat renal function in 2 weeks.",
            "Elevated glucose; correlate with hemoglobin A1c.",
            "Mildly elevated liver enzymes; recheck hepatic panel in 6 weeks.",
        ),
    ),
    ReportKind(
        "24321-2",
        "Basic metabolic 2000 panel - Serum or Plasma",
        "LAB",
        (30, 240),
        "Basic metabolic panel within normal limits.",
        (
            "Mild hypokalemia; consider potassium supplementation.",
            "Mild hyponatremia; repeat sodium tomorrow.",
        ),
    ),
    ReportKind(
        "57698-3",
        "Lipid panel with direct LDL - Serum or Plasma",
        "LAB",
        (120, 1440),
        "Lipid panel within target range.",
        (
            "Elevated LDL cholesterol; lifestyle changes and statin therapy discussed.",
            "Elevated triglycerides with low HDL; recheck fasting lipids in 3 months.",
        ),
    ),
    ReportKind(
        "4548-4",
        "Hemoglobin A1c/Hemoglobin.total in Blood",
        "LAB",
        (120, 1440),
        "Hemoglobin A1c in the normal range.",
        (
            "Hemoglobin A1c in the prediabetes range; lifestyle counseling recommended.",
            "Hemoglobin A1c above goal; intensify diabetes management.",
        ),
    ),
    ReportKind(
        "3016-3",
        "Thyrotropin [Units/volume] in Serum or Plasma",
        "LAB",
        (120, 1440),
        "Thyroid stimulating hormone within normal limits.",
        (
            "Elevated TSH suggesting hypothyroidism; repeat with free T4.",
            "Low TSH; evaluate for hyperthyroidism.",
        ),
    ),
    ReportKind(
        "24356-8",
        "Urinalysis complete panel - Urine",
        "LAB",
        (30, 180),
        "Urinalysis unremarkable.",
        (
            "Pyuria and positive nitrite, consistent with urinary tract infection.",
            "Trace proteinuria; repeat in 3 months.",
        ),
    ),
    ReportKind(
        "630-4",
        "Bacteria identified in Urine by Culture",
        "MB",
        (1440, 2880),
        "No growth after 48 hours.",
        (
            "Escherichia coli greater than 100,000 CFU/mL; susceptibilities to follow.",
            "Mixed flora, likely contamination.",
        ),
    ),
    ReportKind(
        "36643-5",
        "XR Chest 2 Views",
        "RAD",
        (30, 480),
        "No acute cardiopulmonary process.",
        ("Right lower lobe opacity concerning for pneumonia.", "Mild cardiomegaly without pulmonary edema."),
    ),
    ReportKind(
        "24627-2",
        "CT Chest",
        "RAD",
        (60, 600),
        "No acute intrathoracic abnormality.",
        (
            "No pulmonary embolism; small bilateral pleural effusions.",
            "Indeterminate 6 mm pulmonary nodule; follow-up CT in 12 months.",
        ),
    ),
    ReportKind(
        "30799-1",
        "CT Head WO contrast",
        "RAD",
        (30, 240),
        "No acute intracranial abnormality.",
        ("Chronic small vessel ischemic changes; no acute hemorrhage.",),
    ),
    ReportKind(
        "24558-9",
        "US Abdomen",
        "RAD",
        (60, 720),
        "Unremarkable abdominal ultrasound.",
        ("Cholelithiasis without sonographic signs of cholecystitis.", "Hepatic steatosis."),
    ),
    ReportKind(
        "11524-6",
        "EKG study",
        "EC",
        (10, 180),
        "Normal sinus rhythm; no acute ST changes.",
        (
            "Atrial fibrillation with controlled ventricular rate.",
            "Sinus tachycardia; nonspecific T wave changes.",
        ),
    ),
    ReportKind(
        "34552-0",
        "Cardiac 2D echo panel",
        "CUS",
        (120, 1440),
        "Normal left ventricular size and function; ejection fraction 60%.",
        (
            "Mildly reduced ejection fraction of 45%; mild mitral regurgitation.",
            "Left ventricular hypertrophy with preserved ejection fraction.",
        ),
    ),
)
KINDS = {kind.loinc: kind for kind in _KINDS}
# The report a billed service produces.
REPORT_FOR_SERVICE = {
    "85025": "58410-2",
    "80053": "24323-8",
    "80048": "24321-2",
    "80061": "57698-3",
    "83036": "4548-4",
    "84443": "3016-3",
    "81003": "24356-8",
    "87086": "630-4",
    "71046": "36643-5",
    "71250": "24627-2",
    "70450": "30799-1",
    "76700": "24558-9",
    "93000": "11524-6",
    "93306": "34552-0",
}
# Studies ordered in each setting when the visit bills none of the above.
_TYPICAL = {
    "AMB": WeightedChoice(
        ("58410-2", "24323-8", "57698-3", "4548-4", "3016-3", "24356-8"), (25, 20, 20, 15, 10, 10)
    ),
    "EMER": WeightedChoice(
        ("58410-2", "24321-2", "36643-5", "11524-6", "30799-1", "24627-2"), (25, 20, 20, 15, 10, 10)
    ),
    "IMP": WeightedChoice(
        ("58410-2", "24321-2", "36643-5", "11524-6", "34552-0", "24627-2"), (25, 20, 20, 15, 10, 10)
    ),
}


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    effective: datetime
    conclusion: str


def plan_report(
    rng: Random, encounter_class: str, visit_start: datetime, services: list[tuple[str, datetime]]
) -> Report | None:
    """The report a finished visit gets, if any (about ``REPORT_SHARE`` of them)."""
    if rng.random() >= REPORT_SHARE:
        return None
    ordered = [(REPORT_FOR_SERVICE[code], at) for code, at in services if code in REPORT_FOR_SERVICE]
    if ordered:
        loinc, effective = rng.choice(ordered)
    else:
        loinc, effective = _TYPICAL[encounter_class].draw(rng), visit_start
    kind = KINDS[loinc]
    conclusion = kind.normal if rng.random() < NORMAL_SHARE else rng.choice(kind.findings)
    return Report(kind, effective, conclusion)
