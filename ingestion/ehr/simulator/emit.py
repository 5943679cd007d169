"""Turns patients, coverages, roles and visits into lines, handing out ids for charted resources.

Re-sends happen here too: an earlier version of a resource is written just before its final
version, with an older ``meta.lastUpdated``, as a feed that replays its change log would.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from ingestion.ehr.simulator import fhir, fhir_extended
from ingestion.ehr.simulator.clinical import ClinicalWriter
from ingestion.ehr.simulator.clock import clamp_before, extract_cutoff
from ingestion.ehr.simulator.coverage import CoverageTerms
from ingestion.ehr.simulator.fhir import Visit
from ingestion.ehr.simulator.patients import Contact, PatientProfile
from ingestion.ehr.simulator.reports import PRELIMINARY_RESEND, Report
from ingestion.ehr.simulator.roles import RoleTerms
from ingestion.ehr.simulator.state import SystemState
from ingestion.ehr.simulator.visits import chart, earlier_version, minutes
from ingestion.ehr.simulator.writer import EntityBatchWriter

EarlierPatient = tuple[PatientProfile, Contact, datetime]


class Emitter:
    def __init__(self, system: str, state: SystemState, writers: dict[str, EntityBatchWriter]) -> None:
        self.system = system
        self.state = state
        self.writers = writers
        self.cutoff = extract_cutoff(state.extract_date)
        self.clinical = ClinicalWriter(system, state, writers, self.cutoff)

    def patient(
        self,
        profile: PatientProfile,
        contact: Contact,
        last_updated: datetime,
        earlier: EarlierPatient | None = None,
    ) -> None:
        """Write a patient; ``earlier`` is a previous (profile, contact, lastUpdated) re-sent first.

        ``profile.general_practitioner`` is the PCP this version names.
        """
        writer = self.writers["patient"]
        if earlier is not None:
            writer.write(fhir.patient(self.system, *earlier), resend=True)
        writer.write(fhir.patient(self.system, profile, contact, last_updated))

    def allergies(self, profile: PatientProfile, recorded: datetime) -> None:
        """A new patient's allergy list (or "no known allergy"), taken at registration."""
        self.clinical.allergies(profile, recorded)

    def coverage(self, terms: CoverageTerms, last_updated: datetime, *, resend: bool = False) -> None:
        """``resend``: a version of a coverage the feed sent (or sends) again with other content."""
        self.writers["coverage"].write(fhir_extended.coverage_resource(terms, last_updated), resend=resend)

    def role(self, terms: RoleTerms, last_updated: datetime, *, resend: bool = False) -> None:
        self.writers["practitionerrole"].write(
            fhir_extended.practitioner_role(terms, last_updated), resend=resend
        )

    def encounter(
        self,
        visit: Visit,
        profile: PatientProfile,
        rng: Random | None = None,
        *,
        resend_earlier: bool = False,
    ) -> None:
        """Write an encounter version; a finished one also gets its chart (conditions,
        procedures, sometimes a diagnostic report, and its observations, orders and vaccines).

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
        if record.report is not None:
            self._report(visit, record.report, rng)
        self.clinical.visit(visit, profile, [code for code, _, _ in record.diagnoses], record.services)

    def _report(self, visit: Visit, report: Report, rng: Random) -> None:
        """A final report issued after the study; sometimes its preliminary version is sent too."""
        (report_id,) = self.state.take_ids("diagnosticreport", 1)
        issued = clamp_before(report.effective + minutes(rng.randint(*report.kind.turnaround)), self.cutoff)
        writer = self.writers["diagnosticreport"]
        if rng.random() < PRELIMINARY_RESEND:
            half = minutes(int((issued - report.effective) / timedelta(minutes=2)))
            if half:
                preliminary = fhir_extended.diagnostic_report(
                    self.system, report_id, visit, report, report.effective + half, "preliminary"
                )
                writer.write(preliminary, resend=True)
        writer.write(fhir_extended.diagnostic_report(self.system, report_id, visit, report, issued))
