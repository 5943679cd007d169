"""Practitioner roles: each practitioner's department (a NUCC specialty) and facility.

A role version is a pure function of (roster seed, system, practitioner id, version key, the
previous version): "0" is the role of the initial extract, a later version is keyed by the day
it changed. A later extract rebuilds a practitioner's current role by folding its change days,
so no role is ever stored. Primary care pools (who can be a patient's PCP) come from the "0"
roles: a PCP who later changes department keeps their patients, as real panels do.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from random import Random

from ingestion.ehr.simulator.codes import WeightedChoice
from ingestion.ehr.simulator.context import SystemContext

NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"


@dataclass(frozen=True)
class Specialty:
    code: str
    display: str
    weight: float
    hospital_based: bool  # works on the main campus, never in an outpatient clinic


SPECIALTIES: tuple[Specialty, ...] = (
    Specialty("207Q00000X", "Family Medicine", 24, False),
    Specialty("207R00000X", "Internal Medicine", 20, False),
    Specialty("208000000X", "Pediatrics", 12, False),
    Specialty("207P00000X", "Emergency Medicine", 10, True),
    Specialty("207RC0000X", "Cardiovascular Disease", 6, False),
    Specialty("207V00000X", "Obstetrics & Gynecology", 6, False),
    Specialty("207X00000X", "Orthopaedic Surgery", 5, True),
    Specialty("208600000X", "Surgery", 5, True),
    Specialty("2086S0122X", "Plastic and Reconstructive Surgery", 2, True),
    Specialty("2084P0800X", "Psychiatry", 4, False),
    Specialty("2085R0202X", "Diagnostic Radiology", 4, True),
)
SPECIALTY_BY_CODE = {s.code: s for s in SPECIALTIES}
_SPECIALTY = WeightedChoice(tuple(s.code for s in SPECIALTIES), tuple(s.weight for s in SPECIALTIES))
# Who can be a patient's primary care provider, for adults and for children.
ADULT_PRIMARY_CARE = frozenset({"207Q00000X", "207R00000X"})
CHILD_PRIMARY_CARE = frozenset({"208000000X", "207Q00000X"})
# What a role change changes: the department, the facility, or both.
_CHANGE = WeightedChoice(("department", "facility", "both"), (55, 35, 10))
SAME_HOSPITAL_MOVE = 0.5


@dataclass(frozen=True)
class RoleTerms:
    practitioner_id: int
    specialty: Specialty
    hospital: int  # the Organization
    location: int  # the facility (Location)


def _key(ctx: SystemContext, practitioner_id: int, version: str) -> str:
    return f"{ctx.seed}:{ctx.system}:role:{practitioner_id}:{version}"


def _facility(rng: Random, ctx: SystemContext, hospital: int, specialty: Specialty, avoid: int) -> int:
    """Hospital-based specialties work on the main campus; others anywhere in that hospital."""
    if specialty.hospital_based:
        return ctx.main_campus[hospital]
    choices = [f.number for f in ctx.facilities[hospital] if f.number != avoid]
    return rng.choice(choices) if choices else ctx.main_campus[hospital]


def role_terms(
    ctx: SystemContext, practitioner_id: int, version: str, previous: RoleTerms | None
) -> RoleTerms:
    """The role as of ``version``; with ``previous``, a change that always moves something."""
    rng = Random(_key(ctx, practitioner_id, version))
    if previous is None:
        specialty = SPECIALTY_BY_CODE[_SPECIALTY.draw(rng)]
        hospital = ctx.hospital_of_practitioner(practitioner_id).number
        return RoleTerms(practitioner_id, specialty, hospital, _facility(rng, ctx, hospital, specialty, 0))
    change = _CHANGE.draw(rng)
    specialty, hospital, location = previous.specialty, previous.hospital, previous.location
    if change != "facility":
        while specialty == previous.specialty:
            specialty = SPECIALTY_BY_CODE[_SPECIALTY.draw(rng)]
        if specialty.hospital_based and location != ctx.main_campus[hospital]:
            location = ctx.main_campus[hospital]
    if change != "department":
        stays = len(ctx.facilities[hospital]) > 1 and not specialty.hospital_based
        if not (stays and rng.random() < SAME_HOSPITAL_MOVE) and len(ctx.hospitals) > 1:
            hospital = rng.choice([h for h in ctx.hospital_numbers if h != previous.hospital])
        location = _facility(rng, ctx, hospital, specialty, previous.location)
    return RoleTerms(practitioner_id, specialty, hospital, location)


def earlier_role(ctx: SystemContext, current: RoleTerms) -> RoleTerms:
    """The role a practitioner held before the initial extract's one (history it re-sends)."""
    return role_terms(ctx, current.practitioner_id, "previous", current)


@functools.cache
def primary_care_pools(seed: int, system: str, practitioners: int) -> dict[tuple[int, bool], tuple[int, ...]]:
    """(hospital, is a child) -> practitioners whose initial role makes them a possible PCP there."""
    ctx = SystemContext(system, practitioners, seed)
    pools: dict[tuple[int, bool], list[int]] = {}
    for practitioner_id in range(1, practitioners + 1):
        role = role_terms(ctx, practitioner_id, "0", None)
        for child, codes in ((False, ADULT_PRIMARY_CARE), (True, CHILD_PRIMARY_CARE)):
            if role.specialty.code in codes:
                pools.setdefault((role.hospital, child), []).append(practitioner_id)
    return {key: tuple(ids) for key, ids in pools.items()}


def pick_pcp(ctx: SystemContext, rng: Random, hospital: int, age: int, avoid: int | None = None) -> int:
    """A primary care provider at ``hospital`` for a patient of ``age``, other than ``avoid``."""
    pool = primary_care_pools(ctx.seed, ctx.system, ctx.practitioners).get((hospital, age < 18), ())
    for _ in range(8):
        pcp = rng.choice(pool) if pool else ctx.practitioner_at(rng, hospital)
        if pcp != avoid:
            return pcp
    return pcp
