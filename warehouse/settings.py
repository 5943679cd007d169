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


# Seconds to wait for an external server to answer before saying it does not (libpq's default
# is to wait forever on a host that drops packets).
CONNECT_TIMEOUT_S = 5


class SettingsError(ValueError):
    """A carehouse environment variable holds something carehouse cannot use (one-line message)."""


class WarehouseUnreachableError(SettingsError):
    """The server ``CAREHOUSE_DSN`` names does not accept a connection (one-line message, no password)."""


@dataclass(frozen=True)
class ConnectionFacts:
    """The parts of a Postgres DSN that dbt, dlt and libpq clients each want separately."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str

    @classmethod
    def from_dsn(cls, dsn: str) -> ConnectionFacts:
        # Messages name the part that is wrong, never the DSN itself: it may carry a password.
        try:
            parts = urlsplit(dsn)
            port = parts.port
        except ValueError:
            raise SettingsError(
                f"{ENV_DSN} is not a valid postgresql:// URL (host or port malformed), e.g. "
                "postgresql://user:password@host:5432/database"
            ) from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise SettingsError(f"{ENV_DSN} must be a postgresql:// URL (got scheme {parts.scheme!r})")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        )

    @property
    def location(self) -> str:
        """``host:port/dbname``: where, for messages (no user, no password)."""
        return f"{self.host}:{self.port}/{self.dbname}"

    def dbt_env(self) -> dict[str, str]:
        """The variables dbt_project/profiles.yml reads (it has no defaults)."""
        return {
            f"{DBT_ENV_PREFIX}HOST": self.host,
            f"{DBT_ENV_PREFIX}PORT": str(self.port),
            f"{DBT_ENV_PREFIX}USER": self.user,
            f"{DBT_ENV_PREFIX}PASSWORD": self.password,
            f"{DBT_ENV_PREFIX}DATABASE": self.dbname,
        }


# External DSNs that answered in this process: checked once, not on every Settings object.
_answered: set[str] = set()


def check_reachable(dsn: str) -> None:
    """Connect once to ``dsn``; raise WarehouseUnreachableError with the reason when that fails,
    so a wrong ``CAREHOUSE_DSN`` is one line before any work starts, not a traceback after it."""
    if dsn in _answered:
        return
    facts = ConnectionFacts.from_dsn(dsn)
    import psycopg

    try:
        psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.OperationalError as exc:
        raise WarehouseUnreachableError(
            f"cannot connect to Postgres at {facts.location} ({_reason(exc)}) — check {ENV_DSN}"
        ) from None
    _answered.add(dsn)


def _reason(exc: Exception) -> str:
    """libpq's reason without its preamble: 'connection refused', 'password authentication
    failed for user "x"', … (libpq never quotes the password back)."""
    first_line = (str(exc).strip().splitlines() or ["unknown error"])[0]
    reason = first_line.rpartition(" failed: ")[2] if " failed: " in first_line else first_line
    reason = reason.removeprefix("FATAL:").strip()
    return reason[:1].lower() + reason[1:]


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
        """The DSN of a warehouse that answers: the external server is checked once per process,
        the embedded one is started on first use."""
        if self.external_dsn:
            check_reachable(self.external_dsn)
            return self.external_dsn
        from warehouse.embedded import EmbeddedPostgres

        return EmbeddedPostgres(self.pgdata_dir).ensure_running().dsn

    @property
    def connection_facts(self) -> ConnectionFacts:
        """Where the warehouse is; an external DSN is only parsed here, not connected to."""
        return ConnectionFacts.from_dsn(self.external_dsn or self.dsn)

    def known_connection_facts(self) -> ConnectionFacts:
        """The connection facts without starting or connecting to anything (for ``dbt parse``,
        which renders the profile but never connects): the external DSN's, or the embedded
        server's, whose password is left out (dbt's partial parse does not hash it)."""
        if self.external_dsn:
            return ConnectionFacts.from_dsn(self.external_dsn)
        from warehouse.embedded import EmbeddedPostgres

        return EmbeddedPostgres(self.pgdata_dir).facts_without_password()

    def dbt_env(self) -> dict[str, str]:
        """Environment variables for dbt: the connection (read by dbt_project/profiles.yml) and
        ``PGOPTIONS`` carrying the gold key's HMAC pads into every dbt session (see
        ``warehouse.keys``)."""
        from warehouse.keys import gold_key, pgoptions

        return {**self.connection_facts.dbt_env(), "PGOPTIONS": pgoptions(gold_key(self))}

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
    """Settings from the current environment (read fresh each call, so tests can change env).

    The default home (``./.carehouse``) is resolved once, against the folder carehouse started
    in, and pinned in ``CAREHOUSE_HOME``: dagster-dbt changes the working directory while it
    streams dbt's events, and a later step must not find a second warehouse under dbt_project/.
    Child processes (the Dagster UI, run workers) inherit the same home."""
    settings = Settings.from_env()
    os.environ.setdefault(ENV_HOME, str(settings.home))
    return settings
