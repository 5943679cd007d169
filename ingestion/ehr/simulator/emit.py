"""Turns patients and visits into lines, handing out ids for the resources a visit charts.

Re-sends happen here too: an earlier version of a resource is written just before its final
version, with an older ``meta.lastUpdated``, as a feed that replays its change log would.
"""

from __future__ import annotations

from datetime import datetime
from random import Random

from ingestion.ehr.simulator import fhir
from ingestion.ehr.simulator.fhir import Visit
from ingestion.ehr.simulator.patients import Contact, PatientProfile
from ingestion.ehr.simulator.state import SystemState
from ingestion.ehr.simulator.visits import chart, earlier_version
from ingestion.ehr.simulator.writer import EntityBatchWriter


class Emitter:
    def __init__(self, system: str, state: SystemState, writers: dict[str, EntityBatchWriter]) -> None:
        self.system = system
        self.state = state
        self.writers = writers

    def patient(
        self,
        profile: PatientProfile,
        contact: Contact,
        last_updated: datetime,
        earlier: tuple[Contact, datetime] | None = None,
    ) -> None:
        """Write a patient; ``earlier`` is a previous (contact, lastUpdated) re-sent first."""
        writer = self.writers["patient"]
        if earlier is not None:
            writer.write(fhir.patient(self.system, profile, earlier[0], earlier[1]), resend=True)
        writer.write(fhir.patient(self.system, profile, contact, last_updated))

    def encounter(
        self,
        visit: Visit,
        profile: PatientProfile,
        rng: Random | None = None,
        *,
        resend_earlier: bool = False,
    ) -> None:
        """Write an encounter version; a finished one also gets its conditions and procedures.

        ``rng`` draws the re-sent earlier version and the chart; open encounters need neither.
        """
        writer = self.writers["encounter"]
        if rng is None and (resend_earlier or visit.status == "finished"):
            raise ValueError("re-sending or charting an encounter needs an RNG")
        if resend_earlier and rng is not None:
            writer.write(fhir.encounter(self.system, earlier_version(rng, visit)), resend=True)
        writer.write(fhir.encounter(self.system, visit))
        if visit.status == "finished" and rng is not None:
            self._chart(visit, profile, rng)

    def _chart(self, visit: Visit, profile: PatientProfile, rng: Random) -> None:
        record = chart(rng, profile, visit)
        conditions = self.state.take_ids("condition", len(record.diagnoses))
        for condition_id, (code, clinical, verification) in zip(conditions, record.diagnoses, strict=True):
            resource = fhir.condition(self.system, condition_id, visit, code, clinical, verification)
            self.writers["condition"].write(resource)
        procedures = self.state.take_ids("procedure", len(record.services))
        for procedure_id, (code, performed) in zip(procedures, record.services, strict=True):
            self.writers["procedure"].write(fhir.procedure(self.system, procedure_id, visit, code, performed))
