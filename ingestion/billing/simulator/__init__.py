"""Deterministic simulator of the hospitals' billing extracts and the payers' claim files.

``simulate_revenue_cycle_day`` reads the EHR landing zone (finished encounters, their
procedures, coverage and the practitioner roster), runs every charge line through its revenue
cycle, and lands one day of billing extracts (``billing_{athena|epic}``) and of payer claim files
(``claims_{payer}``), with a small share of defects silver must quarantine. The data contract is
the repository's revenue-cycle contract; the chargemaster and payer behaviour live here.

The entry points are imported lazily: ``ingestion.claims.simulator`` builds on this package's
modules while ``day`` writes claim files, and an eager import here would make that a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingestion.billing.simulator.day import RevenueCycleSimulationResult, simulate_revenue_cycle_day

__all__ = ["RevenueCycleSimulationResult", "simulate_revenue_cycle_day"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ingestion.billing.simulator import day

        return getattr(day, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
