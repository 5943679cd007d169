"""The simulator's clinical resources: valid US Core R4, plausible for age and sex, deterministic."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation

from ingestion.ehr.simulator import simulate_ehr_extract
from ingestion.landing import batch_id_for

DAY_ONE = date(2025, 3, 2)
DAY_TWO = date(2025, 3, 3)
PATIENTS = 400
CLINICAL = ("observation", "medicationrequest", "immunization", "allergyintolerance")
MODELS = {
    "Observation": Observation,
    "MedicationRequest": MedicationRequest,
    "Immunization": Immunization,
    "AllergyIntolerance": AllergyIntolerance,
}
VITALS = {"85354-9", "8867-4", "8310-5", "9279-1", "59408-5", "29463-7", "8302-2", "39156-5"}
LABS = {"2345-7", "2160-0", "718-7", "4548-4", "2823-3", "2951-2"}


def resources(root: Path, entity: str, day: date = DAY_ONE) -> list[dict[str, Any]]:
    out = []
    for path in sorted(root.glob(f"carehouse/dev/*/{entity}/{batch_id_for(day)}/*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                resource = json.loads(line)
            except json.JSONDecodeError:
                continue  # the feed's injected defects
            if "id" in resource:
                out.append({**resource, "_system": path.parts[-4]})
    return out


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    simulate_ehr_extract(root, extract_date=DAY_ONE, patients=PATIENTS)
    simulate_ehr_extract(root, extract_date=DAY_TWO, patients=PATIENTS)
    return root


@pytest.fixture(scope="module")
def by_id(landing: Path) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Latest version per (system, id) of patients and encounters."""
    out: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for entity in ("patient", "encounter"):
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for r in resources(landing, entity):
            key = (r["_system"], r["id"])
            if key not in latest or r["meta"]["lastUpdated"] > latest[key]["meta"]["lastUpdated"]:
                latest[key] = r
        out[entity] = latest
    return out


def test_every_clinical_resource_is_valid_r4b_in_both_extracts(landing: Path) -> None:
    for day in (DAY_ONE, DAY_TWO):
        for entity in CLINICAL:
            found = resources(landing, entity, day)
            # a small day's increment may order no drug or give no vaccine, but it takes vitals
            assert found or (day == DAY_TWO and entity != "observation"), (entity, day)
            for resource in found:
                resource = {k: v for k, v in resource.items() if k != "_system"}
                MODELS[resource["resourceType"]].model_validate(resource)


def test_observation_volume_stays_modest_and_both_categories_appear(landing: Path) -> None:
    observations = resources(landing, "observation")
    encounters = resources(landing, "encounter")
    assert len(observations) <= 4 * len(encounters)
    categories = Counter(o["category"][0]["coding"][0]["code"] for o in observations)
    assert categories["vital-signs"] > categories["laboratory"] > 0
    codes = {o["code"]["coding"][0]["code"] for o in observations}
    assert codes == VITALS | LABS
    statuses = Counter(o["status"] for o in observations)
    assert statuses["final"] > 0.98 * len(observations)
    assert statuses["amended"] + statuses["entered-in-error"] > 0


def _age(patient: dict[str, Any], when: str) -> float:
    born = date.fromisoformat(patient["birthDate"])
    return (datetime.fromisoformat(when).date() - born).days / 365.25


def test_vitals_are_plausible_for_age_and_sex(
    landing: Path, by_id: dict[str, dict[tuple[str, str], dict[str, Any]]]
) -> None:
    weights: dict[str, list[float]] = defaultdict(list)
    heights: dict[str, list[float]] = defaultdict(list)
    for o in resources(landing, "observation"):
        patient = by_id["patient"].get((o["_system"], o["subject"]["reference"].split("/")[1]))
        encounter = by_id["encounter"].get((o["_system"], o["encounter"]["reference"].split("/")[1]))
        if patient is None or encounter is None or encounter["status"] != "finished":
            continue  # its (final) line is one of the feed's malformed ones
        age = _age(patient, o["effectiveDateTime"])
        code = o["code"]["coding"][0]["code"]
        period = encounter["period"]
        at = datetime.fromisoformat(o["effectiveDateTime"])
        assert datetime.fromisoformat(period["start"]) <= at <= datetime.fromisoformat(period["end"])
        if code == "85354-9":
            systolic, diastolic = (c["valueQuantity"]["value"] for c in o["component"])
            assert age >= 3 and 75 <= systolic <= 210 and 40 <= diastolic <= systolic - 20
            continue
        value = o["valueQuantity"]["value"]
        if code == "8867-4":
            assert (90 if age < 1 else 40) <= value <= 190
        elif code == "29463-7":
            assert (1.5 if age < 1 else 8) <= value <= 250
            band = "child" if age < 10 else "adult" if age >= 18 else "teen"
            weights[f"{band}:{patient['gender']}"].append(value)
        elif code == "8302-2":
            assert 40 <= value <= 210
            if age >= 18:
                heights[patient["gender"]].append(value)
        elif code == "8310-5":
            assert 35.5 <= value <= 40.0
        elif code == "59408-5":
            assert 85 <= value <= 100
    assert sum(weights["child:female"]) / len(weights["child:female"]) < 45
    assert sum(weights["adult:male"]) / len(weights["adult:male"]) > 75
    assert sum(heights["male"]) / len(heights["male"]) > sum(heights["female"]) / len(heights["female"]) + 8


def test_lab_results_carry_ranges_and_flag_only_abnormal_values(landing: Path) -> None:
    labs = [
        o for o in resources(landing, "observation") if o["category"][0]["coding"][0]["code"] == "laboratory"
    ]
    flagged = 0
    for lab in labs:
        value = lab["valueQuantity"]
        assert value["system"] == "http://unitsofmeasure.org"
        (reference,) = lab["referenceRange"]
        low, high = reference["low"]["value"], reference["high"]["value"]
        flag = lab.get("interpretation", [{}])[0].get("coding", [{}])[0].get("code")
        expected = "H" if value["value"] > high else "L" if value["value"] < low else None
        assert flag == expected
        flagged += flag is not None
    assert 0.05 * len(labs) < flagged < 0.6 * len(labs)


def test_orders_immunizations_and_allergies_are_coded_and_realistic(
    landing: Path, by_id: dict[str, dict[tuple[str, str], dict[str, Any]]]
) -> None:
    orders = resources(landing, "medicationrequest")
    assert all(
        o["medicationCodeableConcept"]["coding"][0]["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
        and o["intent"] == "order"
        and o["requester"]["reference"].startswith("Practitioner/")
        for o in orders
    )
    assert {"314076", "861007", "745679"} <= {
        o["medicationCodeableConcept"]["coding"][0]["code"] for o in orders
    }
    shots = resources(landing, "immunization")
    assert all(s["vaccineCode"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/cvx" for s in shots)
    assert all(("statusReason" in s) == (s["status"] == "not-done") for s in shots)
    for shot in shots:
        patient = by_id["patient"].get((shot["_system"], shot["patient"]["reference"].split("/")[1]))
        if patient is None:
            continue
        age = _age(patient, shot["occurrenceDateTime"])
        cvx = shot["vaccineCode"]["coding"][0]["code"]
        if cvx in ("116", "49", "133"):
            assert age < 1.5
        if cvx in ("187",):
            assert age >= 50
    allergies = resources(landing, "allergyintolerance")
    patients = {key for key in by_id["patient"]}
    with_penicillin = {
        (a["_system"], a["patient"]["reference"].split("/")[1])
        for a in allergies
        if a["code"]["coding"][0]["code"] == "764146007"
    }
    assert 0.05 < len(with_penicillin) / len(patients) < 0.16  # ~10% (Shenoy, JAMA 2019)
    assert any(a["code"]["coding"][0]["code"] == "716186003" for a in allergies)
    # no penicillin is ordered for a patient labelled allergic to it
    assert not [
        o
        for o in orders
        if o["medicationCodeableConcept"]["coding"][0]["code"] == "308191"
        and (o["_system"], o["subject"]["reference"].split("/")[1]) in with_penicillin
    ]
