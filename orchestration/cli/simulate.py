"""``carehouse simulate``: the simulated source systems that write into the landing zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.app import (
    DateOption,
    PatientsOption,
    SeedOption,
    console,
    parse_date,
    simulate_app,
)
from warehouse.settings import get_settings


@simulate_app.command("ehr")
def simulate_ehr(
    extract_date: DateOption = None, seed: SeedOption = 42, patients: PatientsOption = 5000
) -> None:
    """Write one day's FHIR R4 NDJSON extract of both EHR systems into the landing zone."""
    from rich.progress import Progress

    from ingestion.ehr.simulator import simulate_ehr_extract

    settings = get_settings()
    day = parse_date(extract_date)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating EHR extract", total=None)

        def advance(label: str, count: int) -> None:
            progress.update(task, description=f"simulating {label}", advance=count)

        result = simulate_ehr_extract(
            settings.landing_dir,
            extract_date=day,
            seed=seed,
            patients=patients,
            tenant=settings.tenant,
            env=settings.environment,
            progress=advance,
        )
    console.print(
        f"{result.kind} extract {result.batch_id}: {len(result.files)} files, "
        f"{sum(result.lines_by_entity.values()):,} lines ({result.malformed_lines:,} malformed) "
        f"in {settings.landing_dir}"
    )


@simulate_app.command("revenue-cycle")
def simulate_revenue_cycle(extract_date: DateOption = None, seed: SeedOption = 42) -> None:
    """Write one day of hospital billing extracts and the payer claim files that arrive that day.

    Charges come from the EHR's finished encounters in the landing zone, so run
    `carehouse simulate ehr` for the day first. The first day lands the billing history.
    """
    from ingestion.billing.simulator import simulate_revenue_cycle_day

    settings = get_settings()
    day = parse_date(extract_date)
    with console.status("simulating billing extracts and payer claim files…"):
        try:
            result = simulate_revenue_cycle_day(
                settings.landing_dir, day=day, seed=seed, tenant=settings.tenant, env=settings.environment
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--date") from None
    rows = ", ".join(f"{entity} {count:,}" for entity, count in sorted(result.rows_by_entity.items()))
    dirty = ", ".join(f"{reason} {count:,}" for reason, count in sorted(result.dirty_by_reason.items()))
    console.print(
        f"revenue cycle {result.day}: {len(result.files)} files ({result.claim_files} claim files, "
        f"{result.resubmitted_claim_files} resubmitted); rows: {rows}; injected defects: {dirty or 'none'}"
    )


@simulate_app.command("ehr-api")
def simulate_ehr_api(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8090,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    token_ttl: Annotated[float, typer.Option(help="Seconds an access token lives.")] = 3600.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second per token before 429 (default: none).")
    ] = None,
    burst: Annotated[
        int | None, typer.Option(help="Requests a token may burst (default: one second's worth).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Root URL that links in responses start with (default: host:port).")
    ] = None,
    system: Annotated[
        list[str] | None,
        typer.Option("--system", help="An EHR system to serve (repeatable; default: athena and epic)."),
    ] = None,
    jwks: Annotated[
        Path | None,
        typer.Option(
            help="Public keys (JWK Set or PEM) of the Bulk Data backend client (default: the"
            " development key pair of the carehouse home, with a warning).",
            show_default=False,
        ),
    ] = None,
    bulk_client_id: Annotated[
        str | None, typer.Option(help="Client id those keys belong to (default: carehouse-bulk-dev).")
    ] = None,
    export_polls: Annotated[
        int, typer.Option(help="Status polls an $export answers 202 before its manifest.", min=0)
    ] = 2,
    export_retry_after: Annotated[
        int, typer.Option(help="Retry-After (s) of in-progress polls; polling sooner is a 429.", min=0)
    ] = 1,
    export_file_size: Annotated[int, typer.Option(help="Resources per $export file.", min=1)] = 10_000,
    throttle_first_poll: Annotated[
        bool,
        typer.Option(
            "--throttle-first-poll", help="Fault: answer every export's first status poll with 429."
        ),
    ] = False,
    throttle_first_download: Annotated[
        bool,
        typer.Option(
            "--throttle-first-download", help="Fault: answer every export's first download with 429."
        ),
    ] = False,
) -> None:
    """Serve the landing zone's EHR data as a FHIR API with OAuth2 client credentials (Ctrl-C stops).

    Client id and secret come from CAREHOUSE_EHR_API_CLIENT_ID / CAREHOUSE_EHR_API_CLIENT_SECRET
    or .dlt/secrets.toml (sources.ehr_api.client_id / client_secret); never from the command line.
    Bulk Data $export clients authenticate as SMART Backend Services (signed JWT assertions)
    with the key pair --jwks registers; see ingestion/ehr/api/README.md.
    """
    from ingestion.ehr.api.bulk import BulkOptions
    from ingestion.ehr.api.bulk_keys import (
        DEV_BULK_CLIENT_ID,
        BulkKeyError,
        dev_signing_key,
        load_public_jwks,
    )
    from ingestion.ehr.api.server import ServerOptions, run_server
    from ingestion.ehr.api.smart import BackendClient

    settings = get_settings()
    bulk_client_id = bulk_client_id or DEV_BULK_CLIENT_ID
    try:
        public = load_public_jwks(jwks) if jwks else dev_signing_key(settings.home).public_jwks()
    except BulkKeyError as exc:
        raise typer.BadParameter(str(exc), param_hint="--jwks") from None
    if jwks is None:
        console.print(
            f"[yellow]Bulk Data client {bulk_client_id!r} uses the development key pair of the carehouse"
            " home (simulated server only)[/]",
            highlight=False,
        )
    more: ServerOptions = {
        "backend_clients": (BackendClient(bulk_client_id, public),),
        "bulk": BulkOptions(
            polls_until_done=export_polls,
            retry_after_s=export_retry_after,
            resources_per_file=export_file_size,
            throttle_first_poll=throttle_first_poll,
            throttle_first_download=throttle_first_download,
        ),
    }
    if system:
        more["systems"] = tuple(dict.fromkeys(system))
    run_server(
        settings.landing_dir,
        settings.tenant,
        settings.environment,
        host,
        port,
        token_ttl_s=token_ttl,
        rate_limit_per_s=rate_limit,
        rate_limit_burst=burst,
        on_ready=lambda url: console.print(f"EHR FHIR API on {url} (Ctrl-C stops)"),
        base_url=base_url,
        **more,
    )


@simulate_app.command("adt")
def simulate_adt(
    extract_date: DateOption = None,
    seed: SeedOption = 42,
    max_events: Annotated[int | None, typer.Option(help="Stop after this many records.", min=1)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print records, write nothing.")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep streaming micro-batches in real time (Ctrl-C stops).")
    ] = False,
    events_per_second: Annotated[float, typer.Option(help="Rate for --follow.", min=0.1)] = 20.0,
    duration: Annotated[
        float | None, typer.Option(help="Seconds to --follow (default: until Ctrl-C).")
    ] = None,
    batch_seconds: Annotated[
        float, typer.Option(help="Seconds per micro-batch for --follow.", min=0.1)
    ] = 2.0,
    events_per_batch: Annotated[int, typer.Option(help="Records per micro-batch of a day.", min=1)] = 500,
    dirty_rate: Annotated[
        float | None, typer.Option(help="Rate of each of the 7 dirty scenarios (default 0.01).", min=0, max=1)
    ] = None,
) -> None:
    """Admission/transfer/discharge events of 7 hospitals as Kafka-like micro-batches.

    Without options: write one day's stream (the first day also warms up the 14 days before).
    """
    import json

    from ingestion.adt import simulator

    rates = simulator.DirtyRates.uniform(dirty_rate) if dirty_rate is not None else None
    if dry_run:  # writes nothing: needs no settings
        for record in simulator.dry_run(
            max_events=max_events or 20, seed=seed, day=parse_date(extract_date), dirty_rates=rates
        ):
            typer.echo(json.dumps(record))
        return
    settings = get_settings()
    if follow:
        console.print(
            f"streaming ADT micro-batches at {events_per_second}/s into {settings.landing_dir} (Ctrl-C stops)"
        )
        try:
            simulator.follow(
                settings.landing_dir,
                events_per_second=events_per_second,
                max_events=max_events,
                duration_s=duration,
                seed=seed,
                tenant=settings.tenant,
                env=settings.environment,
                batch_seconds=batch_seconds,
                on_batch=lambda batch_id, records: console.log(f"{batch_id}: {records} records"),
                dirty_rates=rates,
            )
        except KeyboardInterrupt:
            console.print("stopped")
        return
    result = simulator.simulate_adt_day(
        settings.landing_dir,
        day=parse_date(extract_date),
        seed=seed,
        tenant=settings.tenant,
        env=settings.environment,
        events_per_batch=events_per_batch,
        dirty_rates=rates,
    )
    console.print(
        f"ADT {result.day}: {len(result.batch_ids)} micro-batches, {result.events:,} records "
        f"({result.admissions:,} admissions, {result.discharges:,} discharges,"
        f" {result.transfers:,} transfers)"
    )


@simulate_app.command("ehr-bulk-export")
def simulate_ehr_bulk_export(
    out_dir: Annotated[Path, typer.Argument(help="Empty folder to write the export into (created).")],
    system: Annotated[str, typer.Option(help="The simulated US Core EHR that exports.")] = "cerner",
    patients: Annotated[int, typer.Option(help="Patients of that hospital.", min=1)] = 500,
    seed: SeedOption = 42,
    extract_date: DateOption = None,
    start_date: Annotated[
        str | None,
        typer.Option(
            help="Day of the hospital's history extract, YYYY-MM-DD (default: --date).", show_default=False
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only resources changed after this instant (an earlier export's transactionTime)."),
    ] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="Write .ndjson.gz files.")] = False,
) -> None:
    """Write a completed FHIR Bulk Data $export of a third EHR (US Core R4 NDJSON + manifest.json).

    Load it with `carehouse load fhir-bulk OUT_DIR --system cerner`.
    """
    from ingestion.ehr.simulator.bulk_export import write_bulk_export

    day = parse_date(extract_date)
    first = parse_date(start_date) if start_date else None
    after = None
    if since is not None:
        try:
            after = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(f"not an ISO 8601 instant: {since!r}", param_hint="--since") from None
    with console.status(f"simulating the {system} bulk export…"):
        try:
            result = write_bulk_export(
                out_dir,
                export_date=day,
                system=system,
                patients=patients,
                seed=seed,
                start_date=first,
                since=after,
                gzip=gzip,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    counts = ", ".join(f"{resource_type} {count:,}" for resource_type, count in result.counts.items())
    console.print(
        f"{system} bulk export {result.manifest.name} (transactionTime "
        f"{result.transaction_time:%Y-%m-%dT%H:%M:%SZ}): {sum(result.counts.values()):,} resources in "
        f"{len(result.files)} files ({result.errors} OperationOutcome lines) in {result.folder}\n{counts}"
    )
