"""The HTTP side of the simulated EHR FHIR API: a threaded stdlib server on 127.0.0.1.

Behaviour lives in ``app.py``; this module only moves bytes. It logs method, path (without the
query string) and status, nothing else: no headers, tokens, credentials or resource contents.
:func:`serve` runs it in a background thread for tests and notebooks (port 0 picks a free
port); :func:`run_server` runs it in the foreground until Ctrl-C, for the CLI.

Links in responses start with the server's base URL: ``base_url`` when given (e.g. the name
clients reach it by, behind a proxy), else ``http://{host}:{bound port}``. Request headers
(``Host``, ``X-Forwarded-*``) never shape a URL: the client controls them.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypedDict
from urllib.parse import parse_qs, urlsplit

from typing_extensions import Unpack

from ingestion.ehr.api.app import (
    DEFAULT_AUTH_FAILURE_WINDOW_S,
    DEFAULT_AUTH_MAX_FAILURES,
    DEFAULT_TOKEN_TTL_S,
    TOKEN_PATH,
    FhirApp,
    Response,
    ServerConfig,
)
from ingestion.ehr.api.bulk import BulkOptions
from ingestion.ehr.api.credentials import resolve_api_credentials
from ingestion.ehr.api.smart import BackendClient
from ingestion.ehr.resources import EHR_SYSTEMS

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090
_MAX_FORM_BYTES = 64 << 10


class FhirRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a loader reuses one connection for all its pages
    server_version = "carehouse-ehr-api/1"
    disable_nagle_algorithm = True  # headers and body go out as two writes; do not stall the second
    timeout = 30  # idle keep-alive connections release their thread
    server: FhirHTTPServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        authorization = self.headers.get("Authorization")
        headers = {name: self.headers.get(name, "") for name in ("accept", "prefer") if name in self.headers}
        self._send(self.server.app.get(parts.path, parts.query, authorization, self.server.base_url, headers))

    def do_DELETE(self) -> None:
        self._send(self.server.app.delete(urlsplit(self.path).path, self.headers.get("Authorization")))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_FORM_BYTES:
            self.close_connection = True
            self._send(Response(413, b"", "text/plain"))
            return
        body = self.rfile.read(length) if length > 0 else b""
        if urlsplit(self.path).path != TOKEN_PATH:
            self._send(Response(404, b'{"error":"not_found"}', "application/json"))
            return
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        authorization = self.headers.get("Authorization")
        self._send(self.server.app.token(authorization, form, self.client_address[0], self.server.base_url))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: the stdlib would print the raw request line (query string included) to stderr."""


class FhirHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: FhirApp, base_url: str | None = None) -> None:
        checked = _checked_base_url(base_url) if base_url else None  # before binding: nothing to leak
        super().__init__(address, FhirRequestHandler)
        self.app = app
        self.base_url = checked or self._bound_url(address[0])

    def _bound_url(self, host: str) -> str:
        """``http://{host}:{port}`` with the host as given (the name clients were told) and the bound port."""
        if host in ("", "0.0.0.0", "::"):
            # "all interfaces" is no address a client can use; only the operator knows the right name
            log.warning("EHR API bound to all interfaces without base_url: links name %s", DEFAULT_HOST)
            host = DEFAULT_HOST
        port = self.server_address[1]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:8090``: what its links start with."""
        return self.base_url


def _checked_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"base_url must be an http(s) root URL such as http://127.0.0.1:8090, not {url!r}")
    return url.rstrip("/")


class ServerOptions(TypedDict, total=False):
    """Keyword options of :func:`make_server` and :func:`serve` (all optional)."""

    tenant: str  # default "carehouse"
    env: str  # default "dev"
    host: str  # default 127.0.0.1
    port: int  # default 8090; 0 picks a free port
    client_id: str | None  # None: resolved as credentials.py describes
    client_secret: str | None
    token_ttl_s: float  # default one hour
    rate_limit_per_s: float | None  # None: unlimited
    rate_limit_burst: int | None  # None: one second's worth
    base_url: str | None  # None: http://{host}:{bound port}
    auth_max_failures: int  # default 5 wrong credentials per address and client id ...
    auth_failure_window_s: float  # ... within 60 s; then 429 until the window passes
    systems: tuple[str, ...]  # EHR systems served (default: ingestion.ehr.resources.EHR_SYSTEMS)
    backend_clients: tuple[BackendClient, ...]  # SMART Backend Services clients (Bulk Data)
    bulk: BulkOptions  # $export pacing and fault switches


def make_server(landing_root: Path, **options: Unpack[ServerOptions]) -> FhirHTTPServer:
    """A bound, not yet serving, server over the landing zone at ``landing_root``."""
    host = options.get("host", DEFAULT_HOST)
    if not _is_loopback(host):
        log.warning("EHR API bound to %s: simulated PHI is reachable beyond this machine", host)
    config = ServerConfig(
        landing_root=landing_root,
        tenant=options.get("tenant", "carehouse"),
        env=options.get("env", "dev"),
        credentials=resolve_api_credentials(options.get("client_id"), options.get("client_secret")),
        token_ttl_s=options.get("token_ttl_s", DEFAULT_TOKEN_TTL_S),
        rate_limit_per_s=options.get("rate_limit_per_s"),
        rate_limit_burst=options.get("rate_limit_burst"),
        auth_max_failures=options.get("auth_max_failures", DEFAULT_AUTH_MAX_FAILURES),
        auth_failure_window_s=options.get("auth_failure_window_s", DEFAULT_AUTH_FAILURE_WINDOW_S),
        systems=options.get("systems", EHR_SYSTEMS),
        backend_clients=options.get("backend_clients", ()),
        bulk=options.get("bulk", BulkOptions()),
    )
    address = (host, options.get("port", DEFAULT_PORT))
    return FhirHTTPServer(address, FhirApp(config), options.get("base_url"))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RunningServer:
    """Handle of a server started by :func:`serve`."""

    server: FhirHTTPServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token_url(self) -> str:
        return f"{self.url}{TOKEN_PATH}"

    def fhir_base(self, system: str) -> str:
        return f"{self.url}/{system}/fhir"

    def smart_configuration_url(self, system: str) -> str:
        return f"{self.fhir_base(system)}/.well-known/smart-configuration"

    def revoke_tokens(self) -> None:
        """Forget every issued token, as a restart of a real server would."""
        self.server.app.tokens.revoke_all()


@contextmanager
def serve(landing_root: Path, **options: Unpack[ServerOptions]) -> Iterator[RunningServer]:
    """Serve in a background thread while the block runs (``port=0``: a free port, see ``.url``)."""
    server = make_server(landing_root, **options)
    # a short poll interval makes leaving the block (server.shutdown) quick
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="ehr-api-server", daemon=True)
    thread.start()
    try:
        yield RunningServer(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_server(
    landing_root: Path,
    tenant: str = "carehouse",
    env: str = "dev",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    client_id: str | None = None,
    client_secret: str | None = None,
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S,
    rate_limit_per_s: float | None = None,
    rate_limit_burst: int | None = None,
    on_ready: Callable[[str], None] | None = None,
    base_url: str | None = None,
    **more: Unpack[ServerOptions],
) -> None:
    """Serve in the foreground until Ctrl-C; ``on_ready(url)`` runs once the port is bound."""
    server = make_server(
        landing_root,
        tenant=tenant,
        env=env,
        host=host,
        port=port,
        client_id=client_id,
        client_secret=client_secret,
        token_ttl_s=token_ttl_s,
        rate_limit_per_s=rate_limit_per_s,
        rate_limit_burst=rate_limit_burst,
        base_url=base_url,
        **more,
    )
    with server:
        if on_ready is not None:
            on_ready(server.url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("EHR API stopped")
