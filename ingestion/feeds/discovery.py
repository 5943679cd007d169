"""Which landing files each feed has, and which of them bronze already holds.

A file is a candidate only when its batch verified against its manifest (complete, every listed
file as listed, see ``ingestion.landing_audit``); files the manifest does not list are never
loaded. "Already loaded" is read from ``bronze.feeds__file_log`` rows of completed loads, never
from dlt's local state, so a load is idempotent however it is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from psycopg import sql

from ingestion.bronze_loads import committed_source_files
from ingestion.bronze_pipeline import BRONZE_SCHEMA
from ingestion.feeds.config import FILE_LOG_TABLE, FeedConfig, LoadConfig
from ingestion.landing import LANDING_MANIFEST, extract_date_of, is_complete
from ingestion.landing_audit import LandingScope, batch_folders, loadable_files, verify_scope
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


def _feed_paths(
    config: LoadConfig, feeds: tuple[FeedConfig, ...], settings: Settings
) -> dict[Path, FeedConfig]:
    """Every file the ``feeds`` claim (by their path globs), each with its feed; raises if two
    active feeds of the config claim one file."""
    base = settings.landing_dir / settings.tenant / settings.environment
    owner: dict[Path, FeedConfig] = {}
    for feed in config.active_feeds:
        for path in base.glob(feed.path) if base.is_dir() else ():
            if not path.is_file() or path.name == LANDING_MANIFEST or path.name.startswith("."):
                continue  # dot files: still being written (see temp_path_for)
            if path in owner:
                raise FeedOverlapError(
                    f"{path.relative_to(settings.landing_dir)} matches two feeds, {owner[path].name} and"
                    f" {feed.name}: make their paths in the load config disjoint"
                )
            owner[path] = feed
    return {path: feed for path, feed in owner.items() if feed in feeds}


def feeds_scope(config: LoadConfig, feeds: tuple[FeedConfig, ...], settings: Settings) -> LandingScope:
    """The batch folders of ``feeds`` (the folders their path globs point into); a batch's data
    files must be files one of them claims."""
    return _scope(feeds, _feed_paths(config, feeds, settings), settings)


def _scope(
    feeds: tuple[FeedConfig, ...], claimed: dict[Path, FeedConfig], settings: Settings
) -> LandingScope:
    base = settings.landing_dir / settings.tenant / settings.environment
    folders = {f for feed in feeds for f in batch_folders(base, Path(feed.path).parent.as_posix())}
    return LandingScope("feeds", tuple(sorted(folders)), lambda path: path in claimed)


def new_feed_files(
    config: LoadConfig, feeds: tuple[FeedConfig, ...], settings: Settings
) -> dict[FeedConfig, list[FeedFile]]:
    """Files of ``feeds`` in verified batches that bronze does not hold yet, sorted per feed."""
    loaded = files_in_bronze(settings)
    owner = _feed_paths(config, feeds, settings)
    outcomes = verify_scope(settings, _scope(feeds, owner, settings), loaded)
    found: dict[FeedConfig, list[FeedFile]] = {feed: [] for feed in feeds}
    for path in sorted(loadable_files(outcomes, settings.landing_dir, loaded)):
        found[owner[path]].append(_feed_file(owner[path], path, settings))
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


def files_in_bronze(settings: Settings) -> set[str]:
    """Feed files whose load into bronze completed: the file log row of every file (written in
    the same load as its rows and rejected rows) is the ledger."""
    return committed_source_files(settings, FILE_LOG_TABLE)


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
