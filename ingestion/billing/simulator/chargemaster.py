"""The hospitals' chargemaster (gross charge per CPT code) and the revenue department of a charge.

Prices are list prices, far above what payers allow, as in a real chargemaster; the payers'
contracts (``payers``) discount them. One chargemaster serves every hospital of the network.
"""

from __future__ import annotations

import hashlib

from ingestion.adt.simulator.departments import (
    CARDIOLOGY,
    EMERGENCY,
    ICU,
    MATERNITY,
    ONCOLOGY,
    PEDIATRICS,
    SURGERY,
)

# Gross charge in cents per CPT code of seeds/cpt_procedures.csv.
PRICE_CENTS: dict[str, int] = {
    code: round(dollars * 100)
    for code, dollars in {
        # Evaluation and management
        "99202": 165, "99203": 245, "99204": 375, "99205": 480,
        "99212": 125, "99213": 195, "99214": 285, "99215": 395,
        "99221": 620, "99222": 890, "99223": 1280,
        "99281": 310, "99282": 560, "99283": 980, "99284": 1650, "99285": 2750,
        "99291": 1950,
        "99391": 260, "99392": 270, "99393": 280, "99394": 295, "99395": 310, "99396": 330, "99397": 350,
        "99406": 45,
        # Laboratory
        "36415": 28, "80048": 78, "80053": 95, "80061": 88, "81003": 30, "82947": 35, "83036": 72,
        "84443": 110, "85025": 62, "87086": 68, "87635": 140, "87880": 55,
        # Radiology
        "70450": 1650, "71046": 285, "71250": 1950, "72100": 295, "73562": 310, "74177": 3400,
        "76700": 780,
        # Medicine
        "90471": 45, "90686": 65, "90715": 85, "93000": 145, "93306": 1850, "94640": 120,
        "96360": 380, "96372": 95, "96374": 240,
        # Surgery
        "10060": 540, "11102": 310, "12001": 420, "17110": 260, "20610": 390, "43239": 3200,
        "45378": 2900, "51702": 260, "69210": 180,
    }.items()
}  # fmt: skip

# Revenue departments a charge can fall in, by encounter class, with weights.
DEPARTMENTS_BY_CLASS: dict[str, tuple[tuple[str, int], ...]] = {
    "EMER": ((EMERGENCY, 1),),
    "IMP": ((SURGERY, 30), (CARDIOLOGY, 20), (MATERNITY, 15), (PEDIATRICS, 13), (ICU, 12), (ONCOLOGY, 10)),
    "AMB": ((CARDIOLOGY, 30), (PEDIATRICS, 25), (SURGERY, 25), (ONCOLOGY, 20)),
}


def price_cents(cpt: str) -> int:
    try:
        return PRICE_CENTS[cpt]
    except KeyError:
        raise ValueError(f"CPT code {cpt!r} is not in the chargemaster") from None


def unit_hash(*parts: object) -> float:
    """A uniform draw in [0, 1) that is a pure function of ``parts`` (cheaper than a seeded Random)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def department_of(seed: int, system: str, encounter_id: int, encounter_class: str) -> str:
    """The department code every charge of the encounter is booked to (a pure function of its id)."""
    choices = DEPARTMENTS_BY_CLASS.get(encounter_class, DEPARTMENTS_BY_CLASS["AMB"])
    point = unit_hash(seed, system, "dept", encounter_id) * sum(weight for _, weight in choices)
    for code, weight in choices:
        point -= weight
        if point < 0:
            return code
    return choices[-1][0]
