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
from typing import Any

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
    fold = ConditionFold()
    for extract in extract_dates:
        fold.read_extract(landing_root, tenant, env, system, extract)
    return fold.diagnoses()


class ConditionFold:
    """The latest version of every condition, folded extract by extract (in date order).

    Its :meth:`state` is small and JSON-ready, so a later day folds only the new extracts.
    """

    def __init__(self) -> None:
        self.latest: dict[int, tuple[str, Diagnosis | None]] = {}
        self.patients: dict[int, int] = {}

    def read_extract(self, landing_root: Path, tenant: str, env: str, system: str, extract: date) -> None:
        folder = batch_dir(landing_root, tenant, env, system, "condition", batch_id_for(extract))
        latest, patients = self.latest, self.patients
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

    def diagnoses(self) -> dict[int, list[Diagnosis]]:
        """Patient id -> their diagnoses, in (recorded, condition id) order."""
        by_patient: dict[int, list[Diagnosis]] = defaultdict(list)
        for condition_id, (_, diagnosis) in self.latest.items():
            if diagnosis is not None:
                by_patient[self.patients[condition_id]].append(diagnosis)
        return {patient: sorted(items) for patient, items in sorted(by_patient.items())}

    def state(self) -> list[list[Any]]:
        """[condition id, updated, patient, recorded ordinal, code, recorder] (no diagnosis: Nones)."""
        return [
            [
                cid,
                updated,
                self.patients[cid],
                *((d.recorded.toordinal(), d.code, d.practitioner) if d else (None,) * 3),
            ]
            for cid, (updated, d) in self.latest.items()
        ]

    def restore(self, state: list[list[Any]]) -> None:
        for cid, updated, patient, recorded, code, practitioner in state:
            diagnosis = (
                None if recorded is None else Diagnosis(date.fromordinal(recorded), cid, code, practitioner)
            )
            self.latest[cid] = (updated, diagnosis)
            self.patients[cid] = patient
