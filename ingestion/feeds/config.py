"""The load config (``ingestion/load_config.yaml``): which CSV feeds land in which bronze tables.

Parsed once into frozen dataclasses and validated up front, so a typo fails the load before
any file is read, with an error that names the entry. The file is found in this order: an
explicit ``config_path``, the ``CAREHOUSE_LOAD_CONFIG`` environment variable, the packaged file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

ENV_LOAD_CONFIG = "CAREHOUSE_LOAD_CONFIG"
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "load_config.yaml"

LOAD_TYPES = ("full", "incremental")
FILE_LOG_TABLE = "feeds__file_log"
REJECTED_TABLE = "feeds__rejected_row"
AUDIT_TABLES = (FILE_LOG_TABLE, REJECTED_TABLE)

_REQUIRED_KEYS = ("source_system", "entity", "table", "path", "load_type", "primary_key")
_OPTIONAL_KEYS = ("watermark_column", "active")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# <domain>__<entity>, lower case, within Postgres' 63-byte identifier limit
_TABLE = re.compile(r"^[a-z][a-z0-9_]*__[a-z0-9_]+$")
_MAX_IDENTIFIER = 63


class LoadConfigError(ValueError):
    """The load config is not usable; the message names the file and the entry."""


@dataclass(frozen=True)
class FeedConfig:
    """One (source_system, entity) feed: where its files are and which bronze table gets them."""

    source_system: str
    entity: str
    table: str
    path: str
    load_type: str
    primary_key: tuple[str, ...]
    watermark_column: str | None = None
    active: bool = True

    @property
    def name(self) -> str:
        return f"{self.source_system}.{self.entity}"


@dataclass(frozen=True)
class LoadConfig:
    feeds: tuple[FeedConfig, ...]
    source: Path | None = None
    # what each bronze table holds (the config's optional ``tables:`` section), for its
    # description in bronze's dlt schema and in Dagster
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def active_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(feed for feed in self.feeds if feed.active)

    @property
    def inactive_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(feed for feed in self.feeds if not feed.active)

    def feeds_of(self, table: str) -> tuple[FeedConfig, ...]:
        """Active feeds that land in ``table``, in config order."""
        return tuple(feed for feed in self.active_feeds if feed.table == table)

    @property
    def data_tables(self) -> tuple[str, ...]:
        """Bronze tables of the active feeds, sorted (a table whose feeds are all inactive is absent)."""
        return tuple(sorted({feed.table for feed in self.active_feeds}))


def feed_tables(config: LoadConfig | None = None, *, include_audit: bool = True) -> list[str]:
    """Bronze tables the config produces: one dlt resource (and Dagster asset ``bronze/<table>``)
    each; the data tables sorted, then the file log and the rejected-row table."""
    config = config or load_config()
    return [*config.data_tables, *(AUDIT_TABLES if include_audit else ())]


def config_path_from_env(config_path: Path | str | None = None) -> Path:
    if config_path:
        return Path(config_path)
    from_env = os.environ.get(ENV_LOAD_CONFIG)
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_config(config_path: Path | str | None = None) -> LoadConfig:
    """Read and validate the load config (see the module docstring for where it is found)."""
    path = config_path_from_env(config_path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoadConfigError(f"load config {path}: cannot read it ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise LoadConfigError(f"load config {path}: not valid YAML ({exc})") from exc
    return parse_config(document, source=path)


def parse_config(document: Any, source: Path | None = None) -> LoadConfig:
    """Validate a parsed YAML document into a :class:`LoadConfig`."""
    where = f"load config {source}" if source else "load config"
    if not isinstance(document, dict) or "feeds" not in document or set(document) - {"feeds", "tables"}:
        raise LoadConfigError(f"{where}: expected a mapping with the key 'feeds' (and optionally 'tables')")
    descriptions = _descriptions(document.get("tables"), where)
    entries = document["feeds"]
    if not isinstance(entries, list) or not entries:
        raise LoadConfigError(f"{where}: 'feeds' must be a non-empty list")
    feeds = tuple(_parse_feed(entry, f"{where}: feeds[{index}]") for index, entry in enumerate(entries))
    seen: dict[tuple[str, str], int] = {}
    for index, feed in enumerate(feeds):
        key = (feed.source_system, feed.entity)
        if key in seen:
            raise LoadConfigError(
                f"{where}: feeds[{index}] ({feed.name}): duplicate (source_system, entity), "
                f"already defined by feeds[{seen[key]}]"
            )
        seen[key] = index
    return LoadConfig(feeds=feeds, source=source, descriptions=descriptions)


def _descriptions(tables: Any, where: str) -> dict[str, str]:
    """``tables: {<bronze table>: <what it holds>}``; optional, and no table needs an entry."""
    if tables is None:
        return {}
    if not isinstance(tables, dict) or not all(
        isinstance(name, str) and isinstance(text, str) and text.strip() for name, text in tables.items()
    ):
        raise LoadConfigError(f"{where}: 'tables' must map bronze table names to non-empty descriptions")
    return {name: " ".join(text.split()) for name, text in tables.items()}


def _parse_feed(entry: Any, where: str) -> FeedConfig:
    if not isinstance(entry, dict):
        raise LoadConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
    if isinstance(entry.get("source_system"), str) and isinstance(entry.get("entity"), str):
        where = f"{where} ({entry['source_system']}.{entry['entity']})"
    unknown = sorted(set(entry) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS), key=str)
    if unknown:
        raise LoadConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    missing = [key for key in _REQUIRED_KEYS if key not in entry]
    if missing:
        raise LoadConfigError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")

    source_system = _name(entry, "source_system", where)
    entity = _name(entry, "entity", where)
    table = _text(entry, "table", where)
    if not _TABLE.match(table) or len(table) > _MAX_IDENTIFIER or table in AUDIT_TABLES:
        raise LoadConfigError(
            f"{where}: table {table!r} is not a safe bronze table name: lower-case '<domain>__<entity>' "
            f"of letters, digits and underscores, at most {_MAX_IDENTIFIER} characters, "
            f"not one of {', '.join(AUDIT_TABLES)}"
        )
    load_type = _text(entry, "load_type", where)
    if load_type not in LOAD_TYPES:
        raise LoadConfigError(f"{where}: load_type {load_type!r} must be one of {', '.join(LOAD_TYPES)}")
    watermark = entry.get("watermark_column")
    if watermark is not None:
        watermark = _text(entry, "watermark_column", where)
    if load_type == "incremental" and watermark is None:
        raise LoadConfigError(f"{where}: an incremental feed needs a watermark_column")
    active = entry.get("active", True)
    if not isinstance(active, bool):
        raise LoadConfigError(f"{where}: active must be true or false, got {active!r}")
    return FeedConfig(
        source_system=source_system,
        entity=entity,
        table=table,
        path=_landing_glob(_text(entry, "path", where), where),
        load_type=load_type,
        primary_key=_primary_key(entry.get("primary_key"), where),
        watermark_column=watermark,
        active=active,
    )


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LoadConfigError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value.strip()


def _name(entry: dict, key: str, where: str) -> str:
    value = _text(entry, key, where)
    if not _NAME.match(value):
        raise LoadConfigError(f"{where}: {key} {value!r} must be lower-case letters, digits and underscores")
    return value


def _primary_key(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(c, str) and c.strip() for c in value):
        raise LoadConfigError(f"{where}: primary_key must be a non-empty list of column names, got {value!r}")
    columns = tuple(c.strip() for c in value)
    if len(set(columns)) != len(columns):
        raise LoadConfigError(f"{where}: primary_key {list(columns)} repeats a column")
    return columns


def _landing_glob(path: str, where: str) -> str:
    """The glob, as a relative POSIX path that cannot leave {landing}/{tenant}/{env}."""
    pure = PurePosixPath(path)
    if "\\" in path or pure.is_absolute() or path.startswith("~") or ".." in pure.parts:
        raise LoadConfigError(
            f"{where}: path {path!r} must be a relative glob inside the landing folder (no '/', '~' or "
            "'..' at the start, no '..' anywhere)"
        )
    if pure.parts[-1] in ("*", "**"):
        raise LoadConfigError(f"{where}: path {path!r} must name the data files (e.g. '*/entity.csv')")
    return pure.as_posix()
