"""The HTTP side of the simulated EHR FHIR API: a threaded stdlib server on 127.0.0.1.

Behaviour lives in ``app.py``; this module only moves bytes. It logs method, path (without the
query string) and status, nothing else: no headers, tokens, credentials or resource contents.
:func:`serve` runs it in a background thread for tests and notebooks (port 0 picks a free
port); :func:`run_server` runs it in the foreground until Ctrl-C, for the CLI.
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

from ingestion.ehr.api.app import DEFAULT_TOKEN_TTL_S, TOKEN_PATH, FhirApp, Response, ServerConfig
from ingestion.ehr.api.credentials import resolve_api_credentials

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
        origin = f"http://{self.headers.get('Host') or self.server.authority}"
        self._send(self.server.app.get(parts.path, parts.query, self.headers.get("Authorization"), origin))

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
        self._send(self.server.app.token(self.headers.get("Authorization"), form))

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

    def __init__(self, address: tuple[str, int], app: FhirApp) -> None:
        super().__init__(address, FhirRequestHandler)
        self.app = app

    @property
    def authority(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:8090``."""
        return f"http://{self.authority}"


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
    )
    return FhirHTTPServer((host, options.get("port", DEFAULT_PORT)), FhirApp(config))


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
    )
    with server:
        if on_ready is not None:
            on_ready(server.url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("EHR API stopped")
