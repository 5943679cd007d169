"""Which landing files each feed has, and which of them bronze already holds.

A file is a candidate only when its folder holds ``manifest.json`` (the batch is complete; see
``ingestion.landing``). "Already loaded" is read from bronze itself, never from dlt's local
state (Dagster drops that before every run), so a load is idempotent however it is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from psycopg import sql

from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.feeds.config import FILE_LOG_TABLE, REJECTED_TABLE, FeedConfig, LoadConfig
from ingestion.landing import LANDING_MANIFEST, extract_date_of, is_complete
from ingestion.landing_lines import loaded_source_files
from warehouse.connection import connect, table_exists
from warehouse.settings import Settings


class FeedOverlapError(ValueError):
    """Two active feeds match the same file: it would land twice."""


@dataclass(frozen=True)
class FeedFile:
    """One data file of a feed, with the lineage every one of its rows carries."""

    feed: FeedConfig
    path: Path
    source_file: str  # relative to the landing root
    tenant: str
    environment: str
    batch_id: str  # the folder holding the file and its manifest
    file_date: date  # the day the batch arrived (file mtime date when the folder is no batch id)


def _feed_file(feed: FeedConfig, path: Path, settings: Settings) -> FeedFile:
    batch_id = path.parent.name
    try:
        file_date = extract_date_of(batch_id)
    except ValueError:
        file_date = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
    source_file = path.relative_to(settings.landing_dir).as_posix()
    return FeedFile(feed, path, source_file, settings.tenant, settings.environment, batch_id, file_date)


def complete_feed_files(config: LoadConfig, settings: Settings) -> dict[FeedConfig, list[FeedFile]]:
    """Sorted files of complete batches for every active feed; raises if two feeds share a file."""
    landing_root = settings.landing_dir
    base = landing_root / settings.tenant / settings.environment
    found: dict[FeedConfig, list[FeedFile]] = {}
    owner: dict[Path, FeedConfig] = {}
    for feed in config.active_feeds:
        paths = sorted(
            path
            for path in (base.glob(feed.path) if base.is_dir() else ())
            if path.is_file()
            and path.name != LANDING_MANIFEST
            and not path.name.startswith(".")  # a file still being written (see temp_path_for)
            and is_complete(path.parent)
        )
        for path in paths:
            if path in owner:
                raise FeedOverlapError(
                    f"{path.relative_to(landing_root)} matches two feeds, {owner[path].name} and {feed.name}:"
                    " make their paths in the load config disjoint"
                )
            owner[path] = feed
        found[feed] = [_feed_file(feed, path, settings) for path in paths]
    return found


def unclaimed_folders(config: LoadConfig, settings: Settings) -> dict[str, int]:
    """``{system}/{entity}`` folders of the landing zone whose complete CSV files no feed of the
    config claims (active or not), with their file counts: e.g. a payer that sends claim files
    before anyone onboarded it. Reported, never loaded: only the config decides what lands."""
    base = settings.landing_dir / settings.tenant / settings.environment
    if not base.is_dir():
        return {}
    claimed = {path for feed in config.feeds for path in base.glob(feed.path)}
    unclaimed: dict[str, int] = {}
    for path in sorted(base.glob("*/*/*/*.csv")):
        if path in claimed or path.name.startswith(".") or not is_complete(path.parent):
            continue
        folder = path.parent.parent.relative_to(base).as_posix()
        unclaimed[folder] = unclaimed.get(folder, 0) + 1
    return unclaimed


def files_in_bronze(settings: Settings, table: str) -> set[str]:
    """Source files bronze holds for ``table``: its rows, its rejected rows, and files that
    had no rows at all (only the file log knows those)."""
    loaded = loaded_source_files(settings, BRONZE_SCHEMA, {table: None})
    with connect(settings) as conn:
        for audit, condition in ((REJECTED_TABLE, ""), (FILE_LOG_TABLE, " and rows_loaded = 0")):
            if table_exists(conn, BRONZE_SCHEMA, audit):
                query = sql.SQL("select distinct source_file from {}.{} where table_name = %s" + condition)
                rows = conn.execute(
                    query.format(sql.Identifier(BRONZE_SCHEMA), sql.Identifier(audit)), (table,)
                )
                loaded.update(row[0] for row in rows)
    return loaded


def last_headers(settings: Settings, feeds: list[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """feed -> (source file, header) of the file it loaded last: what the next file is compared to."""
    with connect(settings) as conn:
        if not table_exists(conn, BRONZE_SCHEMA, FILE_LOG_TABLE):
            return {}
        query = sql.SQL(
            "select distinct on (feed) feed, source_file, columns from {}.{} where feed = any(%s)"
            " order by feed, ingested_at desc, source_file desc"
        ).format(sql.Identifier(BRONZE_SCHEMA), sql.Identifier(FILE_LOG_TABLE))
        return {
            feed: (source_file, tuple(columns))
            for feed, source_file, columns in conn.execute(query, (feeds,))
        }
