"""SNOMED CT concepts for the common diagnoses and services, as a US Core EHR codes them.

A US Core server codes problems and procedures in SNOMED CT, often with no ICD-10-CM or CPT
coding beside it. Only the codes the simulator draws most are mapped; a long-tail diagnosis
keeps its ICD-10-CM coding alone (as exports of billing-coded diagnoses do).
"""

from __future__ import annotations

SNOMED_SYSTEM = "http://snomed.info/sct"

# ICD-10-CM -> (SNOMED CT concept, its fully specified name)
CONDITION_SNOMED: dict[str, tuple[str, str]] = {
    "I10": ("59621000", "Essential hypertension (disorder)"),
    "E11.9": ("44054006", "Diabetes mellitus type 2 (disorder)"),
    "E78.5": ("55822004", "Hyperlipidemia (disorder)"),
    "J06.9": ("54150009", "Upper respiratory infection (disorder)"),
    "M54.50": ("279039007", "Low back pain (finding)"),
    "F41.1": ("21897009", "Generalized anxiety disorder (disorder)"),
    "F32.A": ("35489007", "Depressive disorder (disorder)"),
    "E66.9": ("414916001", "Obesity (disorder)"),
    "J45.909": ("195967001", "Asthma (disorder)"),
    "K21.9": ("235595009", "Gastroesophageal reflux disease (disorder)"),
    "E03.9": ("40930008", "Hypothyroidism (disorder)"),
    "N39.0": ("68566005", "Urinary tract infectious disease (disorder)"),
    "J02.9": ("405737000", "Pharyngitis (disorder)"),
    "J20.9": ("10509002", "Acute bronchitis (disorder)"),
    "R05.9": ("49727002", "Cough (finding)"),
    "R10.9": ("21522001", "Abdominal pain (finding)"),
    "R51.9": ("25064002", "Headache (finding)"),
    "M25.561": ("30989003", "Knee pain (finding)"),
    "M25.562": ("30989003", "Knee pain (finding)"),
    "R53.83": ("84229001", "Fatigue (finding)"),
    "E55.9": ("34713006", "Vitamin D deficiency (disorder)"),
    "D64.9": ("271737000", "Anemia (disorder)"),
    "R73.03": ("714628002", "Prediabetes (finding)"),
    "I25.10": ("53741008", "Coronary arteriosclerosis (disorder)"),
    "I48.91": ("49436004", "Atrial fibrillation (disorder)"),
    "J44.9": ("13645005", "Chronic obstructive lung disease (disorder)"),
    "G47.00": ("193462001", "Insomnia (disorder)"),
    "B34.9": ("34014006", "Viral disease (disorder)"),
    "H66.90": ("65363002", "Otitis media (disorder)"),
    "J30.9": ("61582004", "Allergic rhinitis (disorder)"),
    "R07.9": ("29857009", "Chest pain (finding)"),
    "N18.30": ("433144002", "Chronic kidney disease stage 3 (disorder)"),
    "G43.909": ("37796009", "Migraine (disorder)"),
    "F90.9": ("406506008", "Attention deficit hyperactivity disorder (disorder)"),
    "M17.11": ("239873007", "Osteoarthritis of knee (disorder)"),
    "K59.00": ("14760008", "Constipation (finding)"),
    "L30.9": ("182782007", "Dermatitis (disorder)"),
    "L20.9": ("24079001", "Atopic dermatitis (disorder)"),
    "R42": ("404640003", "Dizziness (finding)"),
    "S93.401A": ("44465007", "Sprain of ankle (disorder)"),
}

# CPT -> SNOMED CT procedure
PROCEDURE_SNOMED: dict[str, tuple[str, str]] = {
    "36415": ("82078001", "Collection of blood specimen for laboratory (procedure)"),
    "85025": ("26604007", "Complete blood count (procedure)"),
    "80061": ("252150008", "Fasting lipid profile (procedure)"),
    "83036": ("43396009", "Hemoglobin A1c measurement (procedure)"),
    "81003": ("27171005", "Urinalysis (procedure)"),
    "93000": ("268400002", "12 lead electrocardiogram (procedure)"),
    "93306": ("40701008", "Echocardiography (procedure)"),
    "71046": ("399208008", "Plain chest X-ray (procedure)"),
    "70450": ("303653007", "Computed tomography of head (procedure)"),
    "76700": ("45036003", "Ultrasonography of abdomen (procedure)"),
    "90471": ("33879002", "Administration of vaccine to produce active immunity (procedure)"),
    "94640": ("56251003", "Nebulizer therapy (procedure)"),
    "45378": ("73761001", "Colonoscopy (procedure)"),
    "99406": ("710081004", "Smoking cessation therapy (procedure)"),
}
