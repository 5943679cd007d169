"""``python -m ingestion.ehr.api``: serve the landing zone as a FHIR API, or load from one.

``serve`` runs the simulated EHR API on 127.0.0.1 until Ctrl-C; ``load`` pulls what changed
since the last API load into bronze. Both take the OAuth2 client credentials from dlt secrets
(``sources.ehr_api.client_id`` / ``client_secret``), else from ``CAREHOUSE_EHR_API_CLIENT_ID`` /
``CAREHOUSE_EHR_API_CLIENT_SECRET``, else the development defaults, so with nothing configured
the two agree. Secrets are never taken on the command line (shell history, ``ps``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rich.console import Console

from ingestion.ehr.api.app import DEFAULT_TOKEN_TTL_S
from ingestion.ehr.api.server import DEFAULT_HOST, DEFAULT_PORT, run_server
from warehouse.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.ehr.api",
        description="The EHR's FHIR API path: a simulated server over the landing zone, and its loader.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the landing zone as a FHIR API until Ctrl-C")
    serve.add_argument("--landing", type=Path, help="landing root (default: the carehouse home's)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"bind address (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument(
        "--token-ttl", type=float, default=DEFAULT_TOKEN_TTL_S, help="access token lifetime in seconds"
    )
    serve.add_argument("--rate-limit", type=float, help="requests per second per token (default: unlimited)")
    serve.add_argument("--burst", type=int, help="requests a token may burst (default: one second's worth)")
    serve.add_argument(
        "--base-url", help="root URL that links in responses start with (default: http://{host}:{port})"
    )
    serve.add_argument("--verbose", action="store_true", help="log each request (method, path, status)")
    load = commands.add_parser("load", help="load what changed since the last API load into bronze")
    load.add_argument(
        "--base-url", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}", help="server root of the FHIR API"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    console = Console()
    settings = get_settings()
    if args.command == "serve":
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")

        def ready(url: str) -> None:
            console.print(
                f"EHR FHIR API on {url}  (systems at {url}/{{system}}/fhir, tokens at {url}/oauth/token)"
            )
            console.print("Ctrl-C stops it.")

        run_server(
            args.landing or settings.landing_dir,
            tenant=settings.tenant,
            env=settings.environment,
            host=args.host,
            port=args.port,
            token_ttl_s=args.token_ttl,
            rate_limit_per_s=args.rate_limit,
            rate_limit_burst=args.burst,
            on_ready=ready,
            base_url=args.base_url,
        )
        return
    from ingestion.ehr.api.pipeline import load_ehr_api_to_bronze

    with console.status(f"loading changed EHR resources from {args.base_url}…"):
        loaded = load_ehr_api_to_bronze(settings, args.base_url)
    console.print(f"{loaded.files} page(s), {loaded.rows:,} rows into bronze")


if __name__ == "__main__":
    main()
