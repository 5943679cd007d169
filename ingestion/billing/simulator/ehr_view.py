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
    """The view as of ``day``, read from the system's whole EHR landing."""
    dates = ehr_extract_dates(landing_root, tenant, env, system, day)
    reader = EhrReader(system, seed)
    for extract in dates:
        reader.read_extract(landing_root, tenant, env, extract)
    return reader.view(dates)


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
class _EncounterFacts:
    """A finished encounter version's billing facts (``bad``: a field is missing or malformed)."""

    bad: bool
    patient: int = 0
    practitioner: int = 0
    hospital: int = 0
    klass: str = ""
    start_day: date = date.min


_BAD_ENCOUNTER = _EncounterFacts(bad=True)


def _encounter_facts(resource: Resource) -> _EncounterFacts | None:
    """None for an encounter that is not finished."""
    if resource.get("status") != "finished":
        return None
    try:
        return _EncounterFacts(
            bad=False,
            patient=_ref_id(resource["subject"]),
            practitioner=_ref_id(resource["participant"][0]["individual"]),
            hospital=_ref_id(resource["serviceProvider"]),
            klass=str(resource["class"]["code"]),
            start_day=_local_day(resource["period"]["start"]),
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return _BAD_ENCOUNTER


@dataclass(frozen=True, slots=True)
class CoverageFacts:
    """One version of an EHR Coverage: active on days start <= day < end (no end: open)."""

    updated: str
    start: date
    end: date | None
    payer: str


class EhrReader:
    """Folds EHR batches, in date order, into charges and the current provider roster.

    What it has folded is a small state (:meth:`state` / :meth:`restore`, see
    ``ingestion.billing.simulator.state``): a later day folds only the extracts that are new, and
    ``charges`` holds only the charge lines of the extracts folded since the state was restored.
    """

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

    def read_extract(self, landing_root: Path, tenant: str, env: str, extract: date) -> None:
        """Fold the system's extract of ``extract`` (its complete entity batches)."""
        folders = {
            entity: batch_dir(landing_root, tenant, env, self.system, entity, batch_id_for(extract))
            for entity in ("coverage", "practitioner", "practitionerrole", "encounter", "procedure")
        }
        initial = (
            is_complete(folders["encounter"]) and read_manifest(folders["encounter"]).get("kind") == "initial"
        )
        self.read_batch(extract, initial, folders)

    def view(self, extract_dates: list[date], earlier_charges: list[ChargeFacts] | None = None) -> EhrView:
        """The view after the folded extracts (``earlier_charges``: those of extracts folded before
        the state was restored that still matter)."""
        charges = [*(earlier_charges or []), *self.charges]
        return EhrView(self.system, list(extract_dates), charges, self.providers(), dict(self.coverages))

    def state(self) -> dict[str, Any]:
        """What the reader has folded, as JSON-ready lists (dates as ordinals)."""
        return {
            "coverages": [
                [patient, cid, c.updated, c.start.toordinal(), c.end.toordinal() if c.end else None, c.payer]
                for patient, versions in self.coverages.items()
                for cid, c in versions.items()
            ],
            "practitioners": [[pid, *facts] for pid, facts in self.practitioners.items()],
            "roles": [[pid, *facts] for pid, facts in self.roles.items()],
            "billable": [
                [
                    eid,
                    e.patient,
                    e.practitioner,
                    e.hospital,
                    e.klass,
                    e.start_day.toordinal(),
                    e.known.toordinal(),
                ]
                for eid, e in self.billable.items()
            ],
            "attended": [[pid, hospital] for pid, hospital in self.attended.items()],
            "waiting": [
                [
                    eid,
                    [
                        [p, cpt, day.toordinal(), arrived.toordinal() if arrived else None]
                        for p, cpt, day, arrived in items
                    ],
                ]
                for eid, items in self.waiting.items()
            ],
            "seen_procedures": sorted(self.seen_procedures),
            "lines": [[eid, count] for eid, count in self.lines.items()],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state` (of a reader of the same system and seed)."""
        day = date.fromordinal
        for patient, cid, updated, start, end, payer in state["coverages"]:
            self.coverages[patient][cid] = CoverageFacts(
                updated, day(start), day(end) if end else None, payer
            )
        self.practitioners = {
            pid: (updated, given, family) for pid, updated, given, family in state["practitioners"]
        }
        self.roles = {
            pid: (updated, specialty, hospital) for pid, updated, specialty, hospital in state["roles"]
        }
        self.billable = {
            eid: _Encounter(patient, practitioner, hospital, klass, day(start), day(known))
            for eid, patient, practitioner, hospital, klass, start, known in state["billable"]
        }
        self.attended = {pid: hospital for pid, hospital in state["attended"]}
        for eid, items in state["waiting"]:
            self.waiting[eid] = [
                (p, cpt, day(performed), day(arrived) if arrived else None)
                for p, cpt, performed, arrived in items
            ]
        self.seen_procedures = set(state["seen_procedures"])
        for eid, count in state["lines"]:
            self.lines[eid] = count

    def read_batch(self, extract: date, initial: bool, folders: dict[str, Path]) -> None:
        for resource in _resources(folders["coverage"], "Coverage"):
            self._coverage(resource)
        for resource in _resources(folders["practitioner"], "Practitioner"):
            self._practitioner(resource)
        for resource in _resources(folders["practitionerrole"], "PractitionerRole"):
            self._role(resource)
        # the latest version of each encounter, kept as the few facts billing needs (an initial
        # extract holds the whole history: its resources are never all held at once)
        latest: dict[int, tuple[str, _EncounterFacts | None]] = {}
        for resource in _resources(folders["encounter"], "Encounter"):
            encounter_id, updated = int(resource["id"]), _updated(resource)
            if encounter_id not in latest or updated >= latest[encounter_id][0]:
                latest[encounter_id] = (updated, _encounter_facts(resource))
        for encounter_id, (updated, facts) in sorted(latest.items()):
            if encounter_id not in self.billable and facts is not None:
                self._finished(encounter_id, facts, updated, extract, initial)
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

    def _finished(
        self, encounter_id: int, facts: _EncounterFacts, updated: str, extract: date, initial: bool
    ) -> None:
        if facts.bad:
            return
        if initial:
            try:
                known = _local_day(updated)
            except (TypeError, ValueError):
                return
        else:
            known = extract
        encounter = _Encounter(
            facts.patient, facts.practitioner, facts.hospital, facts.klass, facts.start_day, known
        )
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
