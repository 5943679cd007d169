"""The single source of connection facts for every tool in carehouse.

dlt, dbt (through environment variables read by profiles.yml), Great Expectations and
Dagster all take their connection from here, so pointing carehouse at another Postgres
is one environment variable: ``CAREHOUSE_DSN``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ENV_DSN = "CAREHOUSE_DSN"
ENV_HOME = "CAREHOUSE_HOME"
ENV_TENANT = "CAREHOUSE_TENANT"
ENV_ENVIRONMENT = "CAREHOUSE_ENV"

DEFAULT_HOME = ".carehouse"
DEFAULT_TENANT = "carehouse"
DEFAULT_ENVIRONMENT = "dev"

# Environment variables that dbt's profiles.yml reads (see dbt_project/profiles.yml).
DBT_ENV_PREFIX = "CAREHOUSE_PG"


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
            raise ValueError(f"{ENV_DSN} must be a postgresql:// URL (got scheme {parts.scheme!r})")
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
    external_dsn: str | None
    tenant: str
    environment: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get(ENV_HOME) or DEFAULT_HOME).expanduser().resolve()
        return cls(
            home=home,
            external_dsn=env.get(ENV_DSN) or None,
            tenant=env.get(ENV_TENANT) or DEFAULT_TENANT,
            environment=env.get(ENV_ENVIRONMENT) or DEFAULT_ENVIRONMENT,
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
        """Generated secrets (the embedded server's password), mode 0600 in a 0700 folder."""
        return self.home / "secrets"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dlt_pipelines_dir(self) -> Path:
        return self.home / "dlt"

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
        """Environment variables that dbt_project/profiles.yml reads."""
        facts = self.connection_facts
        return {
            f"{DBT_ENV_PREFIX}HOST": facts.host,
            f"{DBT_ENV_PREFIX}PORT": str(facts.port),
            f"{DBT_ENV_PREFIX}USER": facts.user,
            f"{DBT_ENV_PREFIX}PASSWORD": facts.password,
            f"{DBT_ENV_PREFIX}DATABASE": facts.dbname,
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


def get_settings() -> Settings:
    """Settings from the current environment (read fresh each call, so tests can change env)."""
    return Settings.from_env()
