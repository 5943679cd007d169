"""The single source of connection facts for every tool in carehouse.

dlt, dbt (through environment variables read by profiles.yml), Great Expectations and
Dagster all take their connection from here, so pointing carehouse at another Postgres
is one environment variable: ``CAREHOUSE_DSN``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ENV_DSN = "CAREHOUSE_DSN"
ENV_HOME = "CAREHOUSE_HOME"
ENV_TENANT = "CAREHOUSE_TENANT"
ENV_ENVIRONMENT = "CAREHOUSE_ENV"
ENV_LOCK_TIMEOUT = "CAREHOUSE_LOCK_TIMEOUT"
ENV_LANDING_GRACE = "CAREHOUSE_LANDING_GRACE_MINUTES"
ENV_KEEP_RUNS = "CAREHOUSE_KEEP_RUNS"
ENV_GOLD_KEY = "CAREHOUSE_GOLD_KEY"

DEFAULT_HOME = ".carehouse"
DEFAULT_TENANT = "carehouse"
DEFAULT_ENVIRONMENT = "dev"
# A batch folder without a manifest is still being written; after this long it is reported.
DEFAULT_LANDING_GRACE_MINUTES = 60.0
# Dagster runs (with their event logs) kept in the carehouse home; older ones are deleted.
DEFAULT_KEEP_RUNS = 10

# Environment variables that dbt's profiles.yml reads (see dbt_project/profiles.yml).
DBT_ENV_PREFIX = "CAREHOUSE_PG"


class SettingsError(ValueError):
    """A carehouse environment variable holds something carehouse cannot use (one-line message)."""


@dataclass(frozen=True)
class ConnectionFacts:
    """The parts of a Postgres DSN that dbt, dlt and libpq clients each want separately."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_dsn(cls, dsn: str) -> ConnectionFacts:
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgresql", "postgres"):
            raise SettingsError(f"{ENV_DSN} must be a postgresql:// URL (got scheme {parts.scheme!r})")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        )


def without_password(dsn: str) -> str:
    """``dsn`` minus its password, for messages and command lines (other local users can read those)."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}@{hostport}"))


@dataclass(frozen=True)
class Settings:
    """Settings read from the environment once; immutable afterwards."""

    home: Path
    external_dsn: str | None = field(repr=False)  # may carry a password
    tenant: str
    environment: str
    # seconds a writer waits for the warehouse lock (None: as long as it takes, 0: not at all)
    lock_timeout_s: float | None = None
    landing_grace_minutes: float = DEFAULT_LANDING_GRACE_MINUTES
    keep_runs: int = DEFAULT_KEEP_RUNS
    # CAREHOUSE_GOLD_KEY; None: the generated key file (see warehouse.keys)
    configured_gold_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get(ENV_HOME) or DEFAULT_HOME).expanduser().resolve()
        return cls(
            home=home,
            external_dsn=env.get(ENV_DSN) or None,
            tenant=env.get(ENV_TENANT) or DEFAULT_TENANT,
            environment=env.get(ENV_ENVIRONMENT) or DEFAULT_ENVIRONMENT,
            lock_timeout_s=_non_negative(env, ENV_LOCK_TIMEOUT),
            landing_grace_minutes=_non_negative(env, ENV_LANDING_GRACE, DEFAULT_LANDING_GRACE_MINUTES),
            keep_runs=max(1, int(_non_negative(env, ENV_KEEP_RUNS, DEFAULT_KEEP_RUNS))),
            configured_gold_key=(env.get(ENV_GOLD_KEY) or "").strip() or None,
        )

    @property
    def uses_embedded_server(self) -> bool:
        return self.external_dsn is None

    # Folders under the carehouse home. Created on demand by the code that writes them.
    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def pgdata_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def secrets_dir(self) -> Path:
        """Generated secrets (the embedded server's password, the gold key), 0600 in a 0700 folder."""
        return self.home / "secrets"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dlt_pipelines_dir(self) -> Path:
        return self.home / "dlt"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's parsed project (manifest, partial parse), outside the repository checkout."""
        return self.home / "dbt" / "target"

    @property
    def dbt_runs_dir(self) -> Path:
        """One folder per dbt invocation of a Dagster step (compiled SQL, results, logs)."""
        return self.home / "dbt" / "runs"

    @cached_property
    def dsn(self) -> str:
        """The DSN of the warehouse; starts the embedded server on first use when no DSN is set."""
        if self.external_dsn:
            return self.external_dsn
        from warehouse.embedded import EmbeddedPostgres

        return EmbeddedPostgres(self.pgdata_dir).ensure_running().dsn

    @property
    def connection_facts(self) -> ConnectionFacts:
        return ConnectionFacts.from_dsn(self.dsn)

    def dbt_env(self) -> dict[str, str]:
        """Environment variables for dbt: the connection (read by dbt_project/profiles.yml) and
        ``PGOPTIONS`` carrying the gold key's HMAC pads into every dbt session (see
        ``warehouse.keys``)."""
        from warehouse.keys import gold_key, pgoptions

        facts = self.connection_facts
        return {
            f"{DBT_ENV_PREFIX}HOST": facts.host,
            f"{DBT_ENV_PREFIX}PORT": str(facts.port),
            f"{DBT_ENV_PREFIX}USER": facts.user,
            f"{DBT_ENV_PREFIX}PASSWORD": facts.password,
            f"{DBT_ENV_PREFIX}DATABASE": facts.dbname,
            "PGOPTIONS": pgoptions(gold_key(self)),
        }

    def export_dbt_env(self) -> None:
        """Put the dbt connection variables into this process's environment (for dbt subprocesses)."""
        os.environ.update(self.dbt_env())

    def sqlalchemy_url(self) -> str:
        """URL for SQLAlchemy-based tools (Great Expectations)."""
        facts = self.connection_facts
        from urllib.parse import quote

        auth = quote(facts.user, safe="")
        if facts.password:
            auth += ":" + quote(facts.password, safe="")
        return f"postgresql+psycopg2://{auth}@{facts.host}:{facts.port}/{facts.dbname}"


def _non_negative(env: Mapping[str, str], name: str, default: float | None = None) -> float | None:
    value = env.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number (got {value!r})") from None
    if number < 0:
        raise SettingsError(f"{name} must not be negative (got {value!r})")
    return number


def get_settings() -> Settings:
    """Settings from the current environment (read fresh each call, so tests can change env)."""
    return Settings.from_env()
