"""Reference data of one system: its hospitals, their facilities and its practitioners.

Sent once, in the initial extract; these change too rarely to be part of daily increments.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from random import Random

from ingestion.ehr.simulator import fhir
from ingestion.ehr.simulator.clock import extract_cutoff
from ingestion.ehr.simulator.codes import WeightedChoice
from ingestion.ehr.simulator.context import SystemContext
from ingestion.ehr.simulator.identifiers import practitioner_npi
from ingestion.ehr.simulator.pools import pools_for
from ingestion.ehr.simulator.writer import EntityBatchWriter

DEGREE = WeightedChoice(("MD", "DO", "NP", "PA"), (72, 10, 12, 6))


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
