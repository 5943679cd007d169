"""The EHR problem list the PBM simulation needs: each patient's diagnoses with date and recorder.

Condition resources are read like the billing simulator reads the EHR (complete extracts in
date order, malformed lines skipped, the latest version of a condition wins). Differential
diagnoses are ignored: nobody starts a maintenance drug on a maybe.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ingestion.billing.simulator.ehr_view import _local_day, _ref_id, _resources, _updated
from ingestion.landing import batch_dir, batch_id_for

USABLE_VERIFICATION = frozenset({"confirmed", "provisional"})


@dataclass(frozen=True, slots=True, order=True)
class Diagnosis:
    recorded: date
    condition_id: int
    code: str
    practitioner: int  # the recorder: the encounter's practitioner

    @property
    def category(self) -> str:
        return self.code[:3]


def read_diagnoses(
    landing_root: Path, tenant: str, env: str, system: str, extract_dates: list[date]
) -> dict[int, list[Diagnosis]]:
    """Patient id -> their diagnoses, in (recorded, condition id) order."""
    latest: dict[int, tuple[str, Diagnosis | None]] = {}
    patients: dict[int, int] = {}
    for extract in extract_dates:
        folder = batch_dir(landing_root, tenant, env, system, "condition", batch_id_for(extract))
        for resource in _resources(folder, "Condition"):
            condition_id, updated = int(resource["id"]), _updated(resource)
            if condition_id in latest and updated < latest[condition_id][0]:
                continue
            try:
                verification = resource["verificationStatus"]["coding"][0]["code"]
                diagnosis = Diagnosis(
                    recorded=_local_day(resource["recordedDate"]),
                    condition_id=condition_id,
                    code=str(resource["code"]["coding"][0]["code"]),
                    practitioner=_ref_id(resource["recorder"]),
                )
                patient = _ref_id(resource["subject"])
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            usable = verification in USABLE_VERIFICATION
            latest[condition_id] = (updated, diagnosis if usable else None)
            patients[condition_id] = patient
    by_patient: dict[int, list[Diagnosis]] = defaultdict(list)
    for condition_id, (_, diagnosis) in latest.items():
        if diagnosis is not None:
            by_patient[patients[condition_id]].append(diagnosis)
    return {patient: sorted(items) for patient, items in sorted(by_patient.items())}
