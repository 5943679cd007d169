"""Writes the clinical record of a finished visit (Observations, MedicationRequests, Immunizations)
and a new patient's allergy list.

Each visit draws from its own RNG keyed by (roster seed, system, encounter id), never from the
visit's chart RNG: adding these resources left every earlier resource byte-identical, and a
visit's clinical record is the same whichever extract charts it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from ingestion.ehr.simulator import fhir_clinical
from ingestion.ehr.simulator.allergies import PENICILLIN, Allergy, allergy_list
from ingestion.ehr.simulator.clock import clamp_before
from ingestion.ehr.simulator.fhir import Visit
from ingestion.ehr.simulator.immunizations import vaccines_at_visit
from ingestion.ehr.simulator.medications import medication_orders
from ingestion.ehr.simulator.observations import (
    AMENDED_RATE,
    ENTERED_IN_ERROR_RATE,
    Measurement,
    body_of,
    lab_results,
    vital_signs,
)
from ingestion.ehr.simulator.patients import PatientProfile
from ingestion.ehr.simulator.state import SystemState
from ingestion.ehr.simulator.writer import EntityBatchWriter

_MINUTE = timedelta(minutes=1)


class ClinicalWriter:
    def __init__(
        self, system: str, state: SystemState, writers: dict[str, EntityBatchWriter], cutoff: datetime
    ) -> None:
        self.system = system
        self.state = state
        self.writers = writers
        self.cutoff = cutoff
        # Vaccines the current patient got in this extract (the initial history is per patient).
        self._patient: int | None = None
        self._given: set[str] = set()

    def _key(self, kind: str, number: int) -> str:
        return f"{self.state.cohorts[0].seed}:{self.system}:{kind}:{number}"

    def allergy_list(self, profile: PatientProfile) -> list[Allergy]:
        """A pure function of the patient: visits re-derive it to avoid ordering penicillin."""
        home = self.state.cohort_of_patient(profile.patient_id)
        return allergy_list(
            Random(self._key("allergy", profile.patient_id)), profile.age_on(home.extract_date)
        )

    def allergies(self, profile: PatientProfile, recorded: datetime) -> None:
        found = self.allergy_list(profile)
        ids = self.state.take_ids("allergyintolerance", len(found))
        for allergy_id, allergy in zip(ids, found, strict=True):
            resource = fhir_clinical.allergy_intolerance(
                self.system, allergy_id, profile.patient_id, allergy, recorded
            )
            self.writers["allergyintolerance"].write(resource)

    def visit(
        self,
        visit: Visit,
        profile: PatientProfile,
        diagnoses: list[str],
        services: list[tuple[str, datetime]],
    ) -> None:
        rng = Random(self._key("clinical", visit.encounter_id))
        preventive = visit.visit_code.startswith("993")
        body = body_of(self.state.cohorts[0].seed, self.system, profile)
        measurements = vital_signs(rng, profile, body, visit, preventive)
        measurements += lab_results(rng, profile, services, self.cutoff)
        for observation_id, measurement in zip(
            self.state.take_ids("observation", len(measurements)), measurements, strict=True
        ):
            self._observation(rng, observation_id, visit, measurement)
        self._orders(rng, visit, profile, diagnoses)
        if visit.encounter_class == "AMB":
            self._vaccines(rng, visit, profile, preventive)

    def _observation(self, rng: Random, observation_id: int, visit: Visit, measurement: Measurement) -> None:
        """Final, or amended after an earlier final version (re-sent), or entered-in-error."""
        writer = self.writers["observation"]
        released = measurement.issued or measurement.effective
        last_updated = clamp_before(released + _MINUTE * rng.randint(1, 30), self.cutoff)
        roll = rng.random()
        if roll < AMENDED_RATE and measurement.value is not None:
            corrected = clamp_before(last_updated + _MINUTE * rng.randint(60, 3 * 24 * 60), self.cutoff)
            if corrected > last_updated:
                # the value first charted: a slip of a few percent (a few tenths of a degree)
                value = measurement.value
                wrong = (
                    value + rng.choice((-0.4, 0.4))
                    if measurement.code.unit == "Cel"
                    else value * rng.choice((0.95, 1.05))
                )
                earlier = Measurement(
                    measurement.code,
                    measurement.effective,
                    round(wrong, measurement.decimals),
                    measurement.decimals,
                    low=measurement.low,
                    high=measurement.high,
                    issued=measurement.issued,
                )
                writer.write(
                    fhir_clinical.observation(self.system, observation_id, visit, earlier, last_updated),
                    resend=True,
                )
                writer.write(
                    fhir_clinical.observation(
                        self.system, observation_id, visit, measurement, corrected, "amended"
                    )
                )
                return
        status = "entered-in-error" if roll > 1 - ENTERED_IN_ERROR_RATE else "final"
        writer.write(
            fhir_clinical.observation(self.system, observation_id, visit, measurement, last_updated, status)
        )

    def _orders(self, rng: Random, visit: Visit, profile: PatientProfile, diagnoses: list[str]) -> None:
        end = visit.end or visit.start
        authored = clamp_before(end - _MINUTE * rng.randint(0, 10), self.cutoff)
        penicillin = any(
            a.allergen is not None and a.allergen.code == PENICILLIN for a in self.allergy_list(profile)
        )
        orders = medication_orders(rng, diagnoses, authored, self.cutoff, penicillin)
        ids = self.state.take_ids("medicationrequest", len(orders))
        for request_id, order in zip(ids, orders, strict=True):
            last_updated = clamp_before(authored + _MINUTE * rng.randint(1, 20), self.cutoff)
            self.writers["medicationrequest"].write(
                fhir_clinical.medication_request(self.system, request_id, visit, order, last_updated)
            )

    def _vaccines(self, rng: Random, visit: Visit, profile: PatientProfile, preventive: bool) -> None:
        if visit.patient_id != self._patient:
            self._patient, self._given = visit.patient_id, set()
        end = visit.end or visit.start
        age = profile.age_on(visit.start.date())
        shots = vaccines_at_visit(rng, age, visit.start, end, preventive, self._given)
        ids = self.state.take_ids("immunization", len(shots))
        for immunization_id, shot in zip(ids, shots, strict=True):
            last_updated = clamp_before(shot.occurred + _MINUTE * rng.randint(1, 60), self.cutoff)
            self.writers["immunization"].write(
                fhir_clinical.immunization(self.system, immunization_id, visit, shot, last_updated)
            )
