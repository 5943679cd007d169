"""``python -m ingestion.billing``: simulate one day of billing extracts and payer claim files.

    python -m ingestion.billing --date 2025-03-02

The EHR extracts must be landed first (``carehouse simulate ehr``): billing reads them. The
landing root, tenant and environment come from the carehouse settings (``--home`` overrides
the carehouse home).
"""

from __future__ import annotations

import argparse
import os
from datetime import date, datetime
from pathlib import Path

from rich.console import Console

from ingestion.billing.simulator import simulate_revenue_cycle_day
from ingestion.ehr.simulator.clock import HOSPITAL_TZ
from warehouse.settings import ENV_HOME, Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.billing",
        description="Write one day of the hospitals' billing extracts and the payers' claim files "
        "into the landing zone, from the EHR extracts already landed there.",
    )
    parser.add_argument("--date", type=date.fromisoformat, help="day to simulate (default: today)")
    parser.add_argument("--seed", type=int, default=42, help="simulation seed (default 42)")
    parser.add_argument("--home", type=Path, help="carehouse home (default: the carehouse settings')")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    environ = dict(os.environ)
    if args.home is not None:
        environ[ENV_HOME] = str(args.home)
    settings = Settings.from_env(environ)
    day = args.date or datetime.now(HOSPITAL_TZ).date()
    console = Console(stderr=True)
    with console.status(f"simulating the revenue cycle of {day}…"):
        try:
            result = simulate_revenue_cycle_day(
                settings.landing_dir,
                day=day,
                seed=args.seed,
                tenant=settings.tenant,
                env=settings.environment,
            )
        except ValueError as error:
            console.print(f"[red]{error}[/red]")
            raise SystemExit(2) from error
    kinds = ", ".join(f"{system} {kind}" for system, kind in result.kind_by_system.items())
    rows = ", ".join(f"{count:,} {entity}" for entity, count in result.rows_by_entity.items())
    console.print(
        f"{day}: billing ({kinds}): {rows}; {result.claim_files} claim file(s) "
        f"({result.resubmitted_claim_files} resubmitted); {sum(result.dirty_by_reason.values()):,} dirty rows"
    )


if __name__ == "__main__":
    main()
