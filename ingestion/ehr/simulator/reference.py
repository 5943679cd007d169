"""Reference data of one system: its hospitals, facilities, practitioners and their roles.

Sent in full once, in the initial extract. Hospitals, facilities and practitioners change too
rarely to be part of daily increments; practitioner roles do change (see ``changes``), and the
initial extract already re-sends a few earlier roles as history.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from random import Random

from ingestion.ehr.simulator import fhir, fhir_extended
from ingestion.ehr.simulator.clock import extract_cutoff
from ingestion.ehr.simulator.codes import WeightedChoice
from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.identifiers import practitioner_npi
from ingestion.ehr.simulator.pools import pools_for
from ingestion.ehr.simulator.roles import earlier_role, role_terms
from ingestion.ehr.simulator.writer import EntityBatchWriter

DEGREE = WeightedChoice(("MD", "DO", "NP", "PA"), (72, 10, 12, 6))
ROLE_HISTORY = 0.05  # of practitioners: their role changed within the history window
HISTORY_WINDOW_DAYS = 730


def _long_ago(rng: Random, cutoff: datetime) -> datetime:
    """A last change well before the history the extract covers."""
    return cutoff - timedelta(days=rng.randint(760, 1500), minutes=rng.randint(0, 24 * 60))


def practitioner_facts(ctx: SystemContext, seed: int, practitioner_id: int) -> fhir.PractitionerFacts:
    rng = Random(f"{seed}:{ctx.system}:practitioner:{practitioner_id}")
    pools = pools_for(seed, ctx.system)
    gender = "female" if rng.random() < 0.52 else "male"
    return fhir.PractitionerFacts(
        practitioner_id=practitioner_id,
        npi=practitioner_npi(ctx.system, practitioner_id),
        gender=gender,
        given=pools.given_name(rng, gender),
        family=rng.choice(pools.family),
        degree=DEGREE.draw(rng),
        work_phone=ctx.hospital_of_practitioner(practitioner_id).phone,
    )


def write_reference(
    ctx: SystemContext, seed: int, extract_date: date, writers: dict[str, EntityBatchWriter]
) -> None:
    rng = Random(f"{seed}:{ctx.system}:{extract_date}:reference")
    cutoff = extract_cutoff(extract_date)
    for hospital in ctx.hospitals:
        writers["organization"].write(fhir.organization(hospital, _long_ago(rng, cutoff)))
    for hospital in ctx.hospitals:
        for facility in ctx.facilities[hospital.number]:
            writers["location"].write(fhir.location(facility, _long_ago(rng, cutoff)))
    for practitioner_id in range(1, ctx.practitioners + 1):
        facts = practitioner_facts(ctx, seed, practitioner_id)
        writers["practitioner"].write(fhir.practitioner(facts, _long_ago(rng, cutoff)))
    _write_roles(ctx, seed, extract_date, writers["practitionerrole"])


def _write_roles(ctx: SystemContext, seed: int, extract_date: date, writer: EntityBatchWriter) -> None:
    """Each practitioner's current role; a few follow the role they held before it."""
    rng = Random(f"{seed}:{ctx.system}:{extract_date}:roles")
    cutoff = extract_cutoff(extract_date)
    for practitioner_id in range(1, ctx.practitioners + 1):
        current = role_terms(ctx, practitioner_id, "0", None)
        changed_on = _long_ago(rng, cutoff)
        if rng.random() < ROLE_HISTORY:
            writer.write(fhir_extended.practitioner_role(earlier_role(ctx, current), changed_on), resend=True)
            changed_on = cutoff - timedelta(
                days=rng.randint(1, HISTORY_WINDOW_DAYS), minutes=rng.randint(0, 600)
            )
        writer.write(fhir_extended.practitioner_role(current, changed_on))
