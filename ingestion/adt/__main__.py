"""``python -m ingestion.adt``: simulate the ADT event stream (a day, a live follow, or a dry run).

    python -m ingestion.adt simulate --day 2025-03-01
    python -m ingestion.adt simulate --follow --events-per-second 50 --duration 60
    python -m ingestion.adt simulate --dry-run --max-events 20

The landing root, tenant and environment come from the carehouse settings unless given.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path

from rich.console import Console

from ingestion.adt.simulator import DirtyRates, dry_run, follow, simulate_adt_day
from ingestion.ehr.simulator.clock import HOSPITAL_TZ


def _today() -> date:
    return datetime.now(HOSPITAL_TZ).date()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.adt",
        description="The ADT (admission/discharge/transfer) event stream of the carehouse hospitals.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser(
        "simulate",
        help="write simulated ADT micro-batches into the landing zone",
        description="Simulate a day (default), follow in real time, or print a dry run as NDJSON.",
    )
    sim.add_argument(
        "--day", type=date.fromisoformat, help="local day to write, or to show in a dry run (default today)"
    )
    mode = sim.add_mutually_exclusive_group()
    mode.add_argument("--follow", action="store_true", help="stream micro-batches in real time")
    mode.add_argument("--dry-run", action="store_true", help="print envelopes to stdout, write nothing")
    sim.add_argument("--events-per-second", type=float, default=20.0, help="follow: records per second")
    sim.add_argument("--duration", type=float, help="follow: stop after this many seconds")
    sim.add_argument("--max-events", type=int, help="follow / dry run: stop after this many records")
    sim.add_argument("--batch-seconds", type=float, default=2.0, help="follow: seconds per micro-batch")
    sim.add_argument(
        "--dry-run-day", type=date.fromisoformat, help="dry run: the day to show (default today)"
    )
    sim.add_argument("--events-per-batch", type=int, default=500, help="day: records per batch")
    sim.add_argument("--dirty-rate", type=float, help="rate of each of the 7 dirty scenarios (default 0.01)")
    sim.add_argument("--seed", type=int, default=42, help="simulation seed (default 42)")
    sim.add_argument("--landing-dir", type=Path, help="landing root (default: the carehouse settings')")
    sim.add_argument("--tenant", help="tenant (default: the carehouse settings')")
    sim.add_argument("--env", help="environment (default: the carehouse settings')")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.follow and args.day:
        parser.error("--follow continues from the stored state; it takes no --day")
    rates = DirtyRates.uniform(args.dirty_rate) if args.dirty_rate is not None else None
    if args.dry_run:
        for envelope in dry_run(
            max_events=args.max_events or 20,
            seed=args.seed,
            day=args.day or _today(),
            dirty_rates=rates,
        ):
            sys.stdout.write(json.dumps(envelope, separators=(",", ":")) + "\n")
        return
    console = Console(stderr=True)
    landing, tenant, env = _where(args)
    if args.follow:
        _follow(console, args, landing, tenant, env, rates)
        return
    day = args.day or _today()
    with console.status(f"simulating ADT events of {day}…"):
        result = simulate_adt_day(
            landing,
            day=day,
            seed=args.seed,
            tenant=tenant,
            env=env,
            events_per_batch=args.events_per_batch,
            dirty_rates=rates,
        )
    if result.warmup_batch_ids:
        console.print(f"warm-up / catch-up: {len(result.warmup_batch_ids)} batch(es) of earlier days")
    dirty = sum(result.dirty_by_scenario.values())
    console.print(
        f"{day}: {len(result.batch_ids)} batch(es), {result.events:,} records "
        f"({result.admissions:,} admissions, {result.transfers:,} transfers, "
        f"{result.discharges:,} discharges; {dirty:,} dirty)"
    )


def _where(args: argparse.Namespace) -> tuple[Path, str, str]:
    if args.landing_dir and args.tenant and args.env:
        return args.landing_dir, args.tenant, args.env
    from warehouse.settings import get_settings

    settings = get_settings()
    return (
        args.landing_dir or settings.landing_dir,
        args.tenant or settings.tenant,
        args.env or settings.environment,
    )


def _follow(
    console: Console, args: argparse.Namespace, landing: Path, tenant: str, env: str, rates: DirtyRates | None
) -> None:
    def show(batch_id: str, records: int) -> None:
        console.log(f"{batch_id}: {records} records")

    console.print(f"following at {args.events_per_second:g} records/s (Ctrl-C to stop)…")
    result = follow(
        landing,
        events_per_second=args.events_per_second,
        max_events=args.max_events,
        duration_s=args.duration,
        seed=args.seed,
        tenant=tenant,
        env=env,
        batch_seconds=args.batch_seconds,
        on_batch=show,
        dirty_rates=rates,
    )
    console.print(
        f"{len(result.batch_ids)} batch(es), {result.events:,} records in {result.wall_seconds:.1f}s"
        + (" (interrupted)" if result.interrupted else "")
    )


if __name__ == "__main__":
    main()
