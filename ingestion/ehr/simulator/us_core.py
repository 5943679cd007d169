"""Restyles the simulator's resources the way a US Core server's Bulk Data export shows them.

The same clinical facts, serialised as a third vendor does: UUID ids (deterministic: uuid5 of
seed, system, type and the simulator's number), literal ``Patient/<uuid>`` references, but
conditional references (``Practitioner?identifier=<NPI system>|<npi>``) to practitioners and
organizations, conditions coded in SNOMED CT (often without ICD-10-CM), procedures in SNOMED
CT or CPT, and the wider v3 ActCode encounter classes (virtual, home health, observation).
Real-world data-level variety is kept, rare: a problem-list condition with no encounter, and a
practitioner reference that the export cannot resolve.
"""

from __future__ import annotations

import copy
import re
import uuid
from random import Random
from typing import Any

from ingestion.ehr.simulator.codes import CPT_SYSTEM, ICD10_SYSTEM
from ingestion.ehr.simulator.fhir import CONDITION_CATEGORY_SYSTEM, Resource
from ingestion.ehr.simulator.identifiers import NPI_SYSTEM, organization_npi, practitioner_npi
from ingestion.ehr.simulator.snomed import CONDITION_SNOMED, PROCEDURE_SNOMED, SNOMED_SYSTEM

_LITERAL = re.compile(r"^([A-Za-z]+)/(\d+)$")
# Of conditions whose code has a SNOMED CT concept: coded in SNOMED CT only (the rest carry
# SNOMED CT and ICD-10-CM). Problem lists are SNOMED-coded by ONC certification (170.315(a)(6)).
SNOMED_ONLY_SHARE = 0.45
# Of procedures whose CPT code has a SNOMED CT concept: coded in SNOMED CT alone.
PROCEDURE_SNOMED_SHARE = 0.6
PROBLEM_LIST_SHARE = 0.015  # conditions from the problem list: no encounter
UNRESOLVABLE_PRACTITIONER = 0.005  # references a practitioner the export does not carry
# Ambulatory visits that were telehealth (~12% of outpatient visits in 2022-23, Epic Research /
# CDC NCHS) or home health; emergency visits kept in observation status (~10%).
CLASS_SHIFT = {
    "AMB": (("VR", 0.12), ("HH", 0.03)),
    "EMER": (("OBSENC", 0.1),),
}
CLASS_DISPLAY = {"VR": "virtual", "HH": "home health", "OBSENC": "observation encounter"}


class UsCoreStyle:
    def __init__(self, system: str, seed: int, practitioners: int) -> None:
        self.system = system
        self.seed = seed
        self.practitioners = practitioners

    def uuid(self, resource_type: str, number: str) -> str:
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"carehouse:{self.seed}:{self.system}:{resource_type}:{number}")
        )

    def _rng(self, resource_type: str, number: str) -> Random:
        return Random(f"{self.seed}:{self.system}:us-core:{resource_type}:{number}")

    def practitioner_reference(self, practitioner_id: int) -> str:
        return f"Practitioner?identifier={NPI_SYSTEM}|{practitioner_npi(self.system, practitioner_id)}"

    def convert(self, resource: Resource) -> Resource:
        """A restyled deep copy of one of the simulator's resources."""
        out = copy.deepcopy(resource)
        resource_type, number = out["resourceType"], out["id"]
        rng = self._rng(resource_type, number)
        out["id"] = self.uuid(resource_type, number)
        if resource_type == "Condition":
            self._condition(rng, out)
        elif resource_type == "Procedure":
            self._procedure(rng, out)
        elif resource_type == "Encounter":
            self._encounter(rng, out)
        self._references(rng, out)
        return out

    def _references(self, rng: Random, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self._references(rng, item)
            return
        if not isinstance(node, dict):
            return
        target = node.get("reference")
        if isinstance(target, str) and (match := _LITERAL.match(target)):
            resource_type, number = match.group(1), int(match.group(2))
            if resource_type == "Practitioner":
                if rng.random() < UNRESOLVABLE_PRACTITIONER:
                    number = self.practitioners + 1 + rng.randrange(1000)  # never in the roster
                node["reference"] = self.practitioner_reference(number)
            elif resource_type == "Organization":
                node["reference"] = f"Organization?identifier={NPI_SYSTEM}|{organization_npi(number)}"
            else:
                node["reference"] = f"{resource_type}/{self.uuid(resource_type, str(number))}"
        for key, value in node.items():
            if key != "reference":
                self._references(rng, value)

    def _condition(self, rng: Random, condition: Resource) -> None:
        (icd,) = condition["code"]["coding"]
        snomed = CONDITION_SNOMED.get(icd["code"])
        if snomed is not None:
            coding = {"system": SNOMED_SYSTEM, "code": snomed[0], "display": snomed[1]}
            both = rng.random() >= SNOMED_ONLY_SHARE
            condition["code"] = {"coding": [coding, icd] if both else [coding], "text": snomed[1]}
        if rng.random() < PROBLEM_LIST_SHARE:
            condition.pop("encounter", None)
            condition["category"] = [
                {
                    "coding": [
                        {
                            "system": CONDITION_CATEGORY_SYSTEM,
                            "code": "problem-list-item",
                            "display": "Problem List Item",
                        }
                    ]
                }
            ]

    def _procedure(self, rng: Random, procedure: Resource) -> None:
        (cpt,) = procedure["code"]["coding"]
        snomed = PROCEDURE_SNOMED.get(cpt["code"]) if cpt["system"] == CPT_SYSTEM else None
        if snomed is not None and rng.random() < PROCEDURE_SNOMED_SHARE:
            procedure["code"] = {
                "coding": [{"system": SNOMED_SYSTEM, "code": snomed[0], "display": snomed[1]}],
                "text": snomed[1],
            }

    def _encounter(self, rng: Random, encounter: Resource) -> None:
        klass = encounter["class"]
        roll = rng.random()
        for code, share in CLASS_SHIFT.get(klass["code"], ()):
            if roll < share:
                klass["code"], klass["display"] = code, CLASS_DISPLAY[code]
                if code in ("VR", "HH"):
                    encounter.pop("location", None)  # not at one of the hospital's sites
                return
            roll -= share


def icd10_coded(condition: Resource) -> bool:
    return any(c.get("system") == ICD10_SYSTEM for c in condition["code"]["coding"])
