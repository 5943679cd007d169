"""``python -m ingestion.feeds``: land every new complete feed file of the load config in bronze."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from ingestion.feeds.bronze import FileReport
from ingestion.feeds.config import ENV_LOAD_CONFIG, LoadConfigError, load_config
from ingestion.feeds.pipeline import load_feeds_to_bronze
from warehouse.settings import get_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.feeds",
        description="Append every new file of a complete batch of every active feed in the load config "
        "to bronze (dlt, Arrow batches, COPY). Files already in bronze are skipped.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"load config YAML (default: ${ENV_LOAD_CONFIG}, else ingestion/load_config.yaml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each feed's file counts")
    return parser


def _show(console: Console, report: FileReport) -> None:
    """One line per file; a column change is also logged as a warning by the loader."""
    rejected = f", [yellow]{report.rows_rejected:,} rejected[/]" if report.rows_rejected else ""
    changed = " [yellow]columns changed[/]" if report.schema_changed else ""
    console.log(f"{report.feed}: {report.source_file} ({report.rows_loaded:,} rows{rejected}){changed}")


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(stderr=True, log_path=False)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    try:
        config = load_config(args.config)
    except LoadConfigError as exc:
        parser.error(str(exc))
    for feed in config.inactive_feeds:
        console.print(f"[dim]{feed.name}: inactive, skipped[/]")
    settings = get_settings()
    with console.status("loading new feed files into bronze…"):
        result = load_feeds_to_bronze(
            settings, config=config, on_file=lambda r: _show(console, r), on_wait=console.log
        )
    for table, rows in result.rows_by_table.items():
        if rows:
            console.print(f"  {table}: {rows:,} rows")
    console.print(
        f"{len(result.files)} new file(s), {result.rows:,} rows into bronze, "
        f"{result.rejected_rows:,} rejected, {len(result.schema_changes)} schema change(s)"
    )


if __name__ == "__main__":
    main()
