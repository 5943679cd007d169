"""FHIR R4 JSON shapes of Coverage, PractitionerRole and DiagnosticReport.

They sit apart from ``fhir`` (the other shapes) to keep both modules small and to keep the
facts they serialise (``coverage``, ``roles``, ``reports``) free of serialisation concerns.
"""

from __future__ import annotations

import html
from datetime import datetime

from ingestion.ehr.simulator.clock import wire_time
from ingestion.ehr.simulator.coverage import INSURANCE_TYPE_SYSTEM, TYPE_DISPLAY, CoverageTerms
from ingestion.ehr.simulator.fhir import Resource, Visit, meta_of, reference
from ingestion.ehr.simulator.reports import (
    CATEGORY_DISPLAY,
    LOINC_SYSTEM,
    REPORT_CATEGORY_SYSTEM,
    Report,
)
from ingestion.ehr.simulator.roles import NUCC_SYSTEM, RoleTerms

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"


def coverage_resource(terms: CoverageTerms, last_updated: datetime) -> Resource:
    period = {"start": terms.start.isoformat()}
    if terms.end is not None:
        period["end"] = terms.end.isoformat()
    return {
        "resourceType": "Coverage",
        "id": str(terms.coverage_id),
        "meta": meta_of(last_updated),
        "status": terms.status,
        "type": {
            "coding": [
                {
                    "system": INSURANCE_TYPE_SYSTEM,
                    "code": terms.insurance_type,
                    "display": TYPE_DISPLAY[terms.insurance_type],
                }
            ]
        },
        "beneficiary": reference("Patient", terms.patient_id),
        "period": period,
        "payor": [{"display": terms.payer}],
    }


def practitioner_role(terms: RoleTerms, last_updated: datetime) -> Resource:
    """One role per practitioner, with the practitioner's id: a change re-sends it."""
    specialty = terms.specialty
    return {
        "resourceType": "PractitionerRole",
        "id": str(terms.practitioner_id),
        "meta": meta_of(last_updated),
        "active": True,
        "practitioner": reference("Practitioner", terms.practitioner_id),
        "organization": reference("Organization", terms.hospital),
        "specialty": [
            {"coding": [{"system": NUCC_SYSTEM, "code": specialty.code, "display": specialty.display}]}
        ],
        "location": [reference("Location", terms.location)],
    }


def diagnostic_report(
    system: str, report_id: int, visit: Visit, report: Report, issued: datetime, status: str = "final"
) -> Resource:
    kind = report.kind
    return {
        "resourceType": "DiagnosticReport",
        "id": str(report_id),
        "meta": meta_of(issued),
        "text": {
            "status": "generated",
            "div": f'<div xmlns="{XHTML_NAMESPACE}">{html.escape(report.conclusion, quote=False)}</div>',
        },
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": REPORT_CATEGORY_SYSTEM,
                        "code": kind.category,
                        "display": CATEGORY_DISPLAY[kind.category],
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC_SYSTEM, "code": kind.loinc, "display": kind.display}]},
        "subject": reference("Patient", visit.patient_id),
        "encounter": reference("Encounter", visit.encounter_id),
        "effectiveDateTime": wire_time(system, report.effective),
        "issued": wire_time(system, issued),
        "conclusion": report.conclusion,
    }
