"""What the billing system knows from the EHR: billable charge lines and the provider roster.

The EHR landing is read batch by batch in date order (complete extracts only, malformed lines
skipped, as a loader would). An encounter becomes billable in the first extract whose latest
version of it is ``finished``; its completed procedures are its charge lines. A charge cannot
post before the billing system could know it: the day of that extract, except in the EHR's
initial (full-history) extract, whose encounters the hospital has had since they were closed.
The payer is the coverage active on the service date as known at that moment, so a later
insurance change never rewrites a charge that is already on the books.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ingestion.billing.simulator.chargemaster import department_of
from ingestion.billing.simulator.payers import SELF_PAY, payer_codes_by_ehr_name
from ingestion.ehr.simulator.clock import HOSPITAL_TZ
from ingestion.ehr.simulator.facilities import hospitals_of
from ingestion.landing import (
    DATA_FILE_PATTERN,
    batch_dir,
    batch_id_for,
    complete_batches,
    extract_date_of,
    is_complete,
    read_manifest,
)

STATE_ENTITY = "patient"  # its manifest is written last: it marks an EHR extract complete
Resource = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChargeFacts:
    """One charge line: a completed procedure of a finished encounter."""

    system: str
    procedure_id: int
    encounter_id: int
    line_number: int
    patient_id: int
    cpt: str
    service_date: date
    known: date  # the first day the charge can post
    provider_id: int
    hospital: int
    dept_code: str
    payer: str


@dataclass(frozen=True)
class ProviderFacts:
    provider_id: int
    first_name: str
    last_name: str
    hospital: int | None
    specialty: str
    modified_at: datetime  # UTC: the later of the practitioner's and its role's lastUpdated


@dataclass
class EhrView:
    system: str
    extract_dates: list[date]
    charges: list[ChargeFacts] = field(default_factory=list)
    providers: list[ProviderFacts] = field(default_factory=list)
    # patient -> coverage id -> its latest version, as of the last extract (pharmacy and eligibility)
    coverages: dict[int, dict[int, CoverageFacts]] = field(default_factory=dict)


def ehr_extract_dates(landing_root: Path, tenant: str, env: str, system: str, day: date) -> list[date]:
    """Dates of the system's complete EHR extracts on or before ``day``, ascending."""
    dates: list[date] = []
    for folder in complete_batches(landing_root, tenant, env, system, STATE_ENTITY):
        try:
            extract = extract_date_of(folder.name)
        except ValueError:
            continue
        if extract <= day:
            dates.append(extract)
    return dates


def read_ehr_view(landing_root: Path, tenant: str, env: str, system: str, day: date, seed: int) -> EhrView:
    dates = ehr_extract_dates(landing_root, tenant, env, system, day)
    reader = _Reader(system, seed)
    for extract in dates:
        folders = {
            entity: batch_dir(landing_root, tenant, env, system, entity, batch_id_for(extract))
            for entity in ("coverage", "practitioner", "practitionerrole", "encounter", "procedure")
        }
        initial = (
            is_complete(folders["encounter"]) and read_manifest(folders["encounter"]).get("kind") == "initial"
        )
        reader.read_batch(extract, initial, folders)
    return EhrView(system, dates, reader.charges, reader.providers(), dict(reader.coverages))


def _resources(folder: Path, resource_type: str) -> Iterator[Resource]:
    """The well-formed resources of a complete batch folder with an id (malformed lines skipped)."""
    if not is_complete(folder):
        return
    for path in sorted(folder.glob(DATA_FILE_PATTERN)):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    resource = json.loads(line)
                except ValueError:
                    continue
                if (
                    isinstance(resource, dict)
                    and resource.get("resourceType") == resource_type
                    and isinstance(resource.get("id"), str)
                    and resource["id"].isdigit()
                ):
                    yield resource


def _ref_id(reference: Any) -> int:
    """``{"reference": "Patient/12"}`` -> 12 (raises on anything else)."""
    return int(reference["reference"].split("/", 1)[1])


def _local_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone(HOSPITAL_TZ).date()


def _updated(resource: Resource) -> str:
    """``meta.lastUpdated``: always UTC with the same offset form, so strings order like instants."""
    return str(resource.get("meta", {}).get("lastUpdated", ""))


@dataclass(frozen=True, slots=True)
class _Encounter:
    patient: int
    practitioner: int
    hospital: int
    klass: str
    start_day: date
    known: date


@dataclass(frozen=True, slots=True)
class CoverageFacts:
    """One version of an EHR Coverage: active on days start <= day < end (no end: open)."""

    updated: str
    start: date
    end: date | None
    payer: str


class _Reader:
    """Folds EHR batches, in date order, into charges and the current provider roster."""

    def __init__(self, system: str, seed: int) -> None:
        self.system = system
        self.seed = seed
        self.hospitals = frozenset(h.number for h in hospitals_of(system))
        self.payer_codes = payer_codes_by_ehr_name()
        self.coverages: dict[int, dict[int, CoverageFacts]] = defaultdict(dict)
        self.practitioners: dict[int, tuple[str, str, str]] = {}  # id -> (updated, given, family)
        self.roles: dict[int, tuple[str, str, int]] = {}  # id -> (updated, specialty, hospital)
        self.billable: dict[int, _Encounter] = {}
        self.attended: dict[int, int] = {}  # practitioner -> hospital of their first billable encounter
        self.waiting: dict[int, list[tuple[int, str, date, date | None]]] = defaultdict(list)
        self.seen_procedures: set[int] = set()
        self.lines: dict[int, int] = defaultdict(int)
        self.charges: list[ChargeFacts] = []

    def read_batch(self, extract: date, initial: bool, folders: dict[str, Path]) -> None:
        for resource in _resources(folders["coverage"], "Coverage"):
            self._coverage(resource)
        for resource in _resources(folders["practitioner"], "Practitioner"):
            self._practitioner(resource)
        for resource in _resources(folders["practitionerrole"], "PractitionerRole"):
            self._role(resource)
        latest: dict[int, tuple[str, Resource]] = {}
        for resource in _resources(folders["encounter"], "Encounter"):
            encounter_id, updated = int(resource["id"]), _updated(resource)
            if encounter_id not in latest or updated >= latest[encounter_id][0]:
                latest[encounter_id] = (updated, resource)
        for encounter_id, (_, resource) in sorted(latest.items()):
            if encounter_id not in self.billable and resource.get("status") == "finished":
                self._finished(encounter_id, resource, extract, initial)
        for resource in _resources(folders["procedure"], "Procedure"):
            self._procedure(resource, None if initial else extract)
        for encounter_id in sorted(self.waiting):
            if encounter_id in self.billable:
                self._charge(encounter_id, self.waiting.pop(encounter_id))

    def _coverage(self, resource: Resource) -> None:
        try:
            payer = self.payer_codes[resource["payor"][0]["display"]]
            period = resource["period"]
            start = date.fromisoformat(period["start"])
            end = date.fromisoformat(period["end"]) if period.get("end") else None
            patient = _ref_id(resource["beneficiary"])
        except (KeyError, IndexError, TypeError, ValueError):
            return
        if resource.get("status") == "entered-in-error":
            return
        versions = self.coverages[patient]
        coverage_id, updated = int(resource["id"]), _updated(resource)
        if coverage_id not in versions or updated >= versions[coverage_id].updated:
            versions[coverage_id] = CoverageFacts(updated, start, end, payer)

    def _practitioner(self, resource: Resource) -> None:
        try:
            name = resource["name"][0]
            given, family = str(name["given"][0]), str(name["family"])
        except (KeyError, IndexError, TypeError):
            return
        practitioner_id, updated = int(resource["id"]), _updated(resource)
        if practitioner_id not in self.practitioners or updated >= self.practitioners[practitioner_id][0]:
            self.practitioners[practitioner_id] = (updated, given, family)

    def _role(self, resource: Resource) -> None:
        try:
            specialty = str(resource["specialty"][0]["coding"][0]["display"])
            hospital = _ref_id(resource["organization"])
            practitioner_id = _ref_id(resource["practitioner"])
        except (KeyError, IndexError, TypeError, ValueError):
            return
        updated = _updated(resource)
        if practitioner_id not in self.roles or updated >= self.roles[practitioner_id][0]:
            self.roles[practitioner_id] = (updated, specialty, hospital)

    def _finished(self, encounter_id: int, resource: Resource, extract: date, initial: bool) -> None:
        try:
            encounter = _Encounter(
                patient=_ref_id(resource["subject"]),
                practitioner=_ref_id(resource["participant"][0]["individual"]),
                hospital=_ref_id(resource["serviceProvider"]),
                klass=str(resource["class"]["code"]),
                start_day=_local_day(resource["period"]["start"]),
                known=_local_day(_updated(resource)) if initial else extract,
            )
        except (KeyError, IndexError, TypeError, ValueError):
            return
        if encounter.hospital in self.hospitals:
            self.billable[encounter_id] = encounter
            self.attended.setdefault(encounter.practitioner, encounter.hospital)

    def _procedure(self, resource: Resource, arrived: date | None) -> None:
        procedure_id = int(resource["id"])
        if resource.get("status") != "completed" or procedure_id in self.seen_procedures:
            return
        try:
            encounter_id = _ref_id(resource["encounter"])
            cpt = str(resource["code"]["coding"][0]["code"])
            performed = _local_day(resource["performedDateTime"])
        except (KeyError, IndexError, TypeError, ValueError):
            return
        self.seen_procedures.add(procedure_id)
        self.waiting[encounter_id].append((procedure_id, cpt, performed, arrived))

    def _charge(self, encounter_id: int, procedures: list[tuple[int, str, date, date | None]]) -> None:
        encounter = self.billable[encounter_id]
        dept = department_of(self.seed, self.system, encounter_id, encounter.klass)
        for procedure_id, cpt, performed, arrived in sorted(procedures):
            self.lines[encounter_id] += 1
            service = max(performed, encounter.start_day)
            self.charges.append(
                ChargeFacts(
                    system=self.system,
                    procedure_id=procedure_id,
                    encounter_id=encounter_id,
                    line_number=self.lines[encounter_id],
                    patient_id=encounter.patient,
                    cpt=cpt,
                    service_date=service,
                    known=max(encounter.known, arrived or encounter.known),
                    provider_id=encounter.practitioner,
                    hospital=encounter.hospital,
                    dept_code=dept,
                    payer=self._payer_on(encounter.patient, service),
                )
            )

    def _payer_on(self, patient: int, day: date) -> str:
        """The payer of the coverage active on ``day`` (latest start wins), else self-pay."""
        best: tuple[date, int] | None = None
        payer = SELF_PAY
        for coverage_id, coverage in self.coverages.get(patient, {}).items():
            if coverage.start <= day and (coverage.end is None or day < coverage.end):
                key = (coverage.start, coverage_id)
                if best is None or key > best:
                    best, payer = key, coverage.payer
        return payer

    def providers(self) -> list[ProviderFacts]:
        roster: list[ProviderFacts] = []
        for practitioner_id, (updated, given, family) in sorted(self.practitioners.items()):
            role = self.roles.get(practitioner_id)
            specialty, hospital = (role[1], role[2]) if role else ("", self.attended.get(practitioner_id))
            stamp = max(updated, role[0]) if role else updated
            roster.append(
                ProviderFacts(
                    provider_id=practitioner_id,
                    first_name=given,
                    last_name=family,
                    hospital=hospital if hospital in self.hospitals else None,
                    specialty=specialty,
                    modified_at=datetime.fromisoformat(stamp),
                )
            )
        return roster
