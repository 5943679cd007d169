"""``python -m ingestion.ehr``: land new EHR files in bronze (optionally simulate a day first)."""

from __future__ import annotations

import argparse
from datetime import date

from rich.console import Console

from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.ehr.simulator import simulate_ehr_extract
from warehouse.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.ehr",
        description="Land every new complete EHR landing batch in bronze with dlt (Arrow batches, COPY).",
    )
    parser.add_argument("--simulate", metavar="YYYY-MM-DD", help="first write that day's simulated extract")
    parser.add_argument("--seed", type=int, default=42, help="simulation seed (default 42)")
    parser.add_argument("--patients", type=int, default=5000, help="patients in the initial extract")
    args = parser.parse_args(argv)

    console = Console()
    settings = get_settings()
    if args.simulate:
        result = simulate_ehr_extract(
            settings.landing_dir,
            extract_date=date.fromisoformat(args.simulate),
            seed=args.seed,
            patients=args.patients,
            tenant=settings.tenant,
            env=settings.environment,
        )
        console.print(f"simulated {result.kind} extract {result.batch_id}: {len(result.files)} files")
    with console.status("loading new EHR files into bronze…"):
        loaded = load_ehr_to_bronze(
            settings, on_file=lambda entity, path: console.log(f"{entity}: {path.name}"), on_wait=console.log
        )
    console.print(f"{loaded.files} new file(s), {loaded.rows:,} rows into bronze")


if __name__ == "__main__":
    main()
