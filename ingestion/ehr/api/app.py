"""The simulated EHR FHIR API as plain functions from a request to a :class:`Response`.

Kept apart from the HTTP plumbing (``server.py``) so the behaviour reads in one place:

- ``POST /oauth/token``: OAuth2 client credentials (HTTP Basic or form fields), returns an
  expiring bearer token; errors follow RFC 6749 (``invalid_client``, ``unsupported_grant_type``).
  Wrong credentials are limited per (remote address, client id): past the limit, 429 with
  ``Retry-After`` until the window passes, without checking the secret.
- ``GET /{system}/fhir/metadata``: a CapabilityStatement (public, as in FHIR).
- ``GET /{system}/fhir/{ResourceType}?_lastUpdated=gt…&_count=…``: a searchset Bundle
  (see ``search.py``). 401 with ``WWW-Authenticate: Bearer`` for a missing, unknown or expired
  token, then 429 with ``Retry-After`` when the token's rate limit is exceeded.

Absolute URLs (Bundle links, ``fullUrl``) start with the server's configured base URL, never
with the request's ``Host`` header: a client would follow a forged host with its bearer token.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote

import orjson

from ingestion.ehr.api.credentials import ApiCredentials
from ingestion.ehr.api.index import LandingIndex
from ingestion.ehr.api.search import (
    CURSOR_PARAM,
    SearchError,
    encode_cursor,
    parse_search,
    render_bundle,
    run_search,
)
from ingestion.ehr.api.tokens import FailureLimiter, RateLimiter, TokenStore
from ingestion.ehr.resources import EHR_SYSTEMS, RESOURCE_TYPES

TOKEN_PATH = "/oauth/token"
FHIR_JSON = "application/fhir+json; charset=utf-8"
OAUTH_JSON = "application/json; charset=utf-8"
REALM = "carehouse-ehr"
DEFAULT_TOKEN_TTL_S = 3600.0
DEFAULT_AUTH_MAX_FAILURES = 5
DEFAULT_AUTH_FAILURE_WINDOW_S = 60.0
ENTITY_OF_TYPE = {resource_type: entity for entity, resource_type in RESOURCE_TYPES.items()}


@dataclass(frozen=True)
class ServerConfig:
    """What a simulated EHR API serves and how strict it is."""

    landing_root: Path
    tenant: str
    env: str
    credentials: ApiCredentials
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S
    rate_limit_per_s: float | None = None  # None: unlimited
    rate_limit_burst: int | None = None  # None: one second's worth of requests
    auth_max_failures: int = DEFAULT_AUTH_MAX_FAILURES  # wrong credentials per address and client id
    auth_failure_window_s: float = DEFAULT_AUTH_FAILURE_WINDOW_S  # ... within this sliding window


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = FHIR_JSON
    headers: dict[str, str] = field(default_factory=dict)


def _outcome(status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None) -> Response:
    issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
    body = orjson.dumps({"resourceType": "OperationOutcome", "issue": [issue]})
    return Response(status, body, FHIR_JSON, headers or {})


def _oauth_error(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status, orjson.dumps({"error": error}), OAUTH_JSON, {"Cache-Control": "no-store", **(headers or {})}
    )


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client id, secret) from an HTTP Basic header; RFC 6749 §2.3.1 form-encodes both parts."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))) if sep else None


def _retry_after(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))  # delay-seconds is a whole number (RFC 9110)


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


class FhirApp:
    """State shared by all request threads: the landing index, issued tokens, rate and failure limits."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.index = LandingIndex(config.landing_root, config.tenant, config.env)
        self.tokens = TokenStore(config.credentials, config.token_ttl_s)
        self.limiter = (
            RateLimiter(config.rate_limit_per_s, config.rate_limit_burst) if config.rate_limit_per_s else None
        )
        self.auth_failures = FailureLimiter(config.auth_max_failures, config.auth_failure_window_s)

    def token(self, authorization: str | None, form: Mapping[str, Sequence[str]], remote: str) -> Response:
        """``POST /oauth/token`` with an already parsed form body, from ``remote`` (the peer address)."""
        if form.get("grant_type", [""])[0] != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        basic = _basic_credentials(authorization)
        client_id, secret = basic or (form.get("client_id", [""])[0], form.get("client_secret", [""])[0])
        # Keyed by address and client id: a guesser elsewhere cannot lock the real client out.
        key = (remote, client_id)
        wait_s = self.auth_failures.attempt(key)
        if wait_s > 0:
            # not even checked: a 200 among the 429s would still tell a guesser the secret
            return _oauth_error(429, "temporarily_unavailable", {"Retry-After": _retry_after(wait_s)})
        if not self.tokens.client_matches(client_id, secret):
            return _oauth_error(401, "invalid_client", {"WWW-Authenticate": f'Basic realm="{REALM}"'})
        self.auth_failures.succeeded(key)
        body = {
            "access_token": self.tokens.issue(),
            "token_type": "Bearer",
            "expires_in": int(self.tokens.ttl_s),  # rounded down: a client never trusts a token too long
        }
        return Response(
            200, orjson.dumps(body), OAUTH_JSON, {"Cache-Control": "no-store", "Pragma": "no-cache"}
        )

    def get(self, path: str, query_string: str, authorization: str | None, base_url: str) -> Response:
        """Any GET; ``base_url`` (the server's configured root, not the request's) starts Bundle links."""
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[1] != "fhir" or parts[0] not in EHR_SYSTEMS:
            return _outcome(404, "not-found", "no such endpoint; try /{system}/fhir/{ResourceType}")
        system, _, resource_type = parts
        if resource_type == "metadata":
            return self._capabilities(system)
        refused = self._authorize(authorization)
        if refused is not None:
            return refused
        entity = ENTITY_OF_TYPE.get(resource_type)
        if entity is None:
            return _outcome(404, "not-supported", f"resource type {resource_type} is not served")
        params = parse_qs(query_string, keep_blank_values=True)
        try:
            query = parse_search(params)
        except SearchError as exc:
            return _outcome(400, "invalid", str(exc))
        index = self.index.type_index(system, entity)
        page = run_search(index.entries(rescan=CURSOR_PARAM not in params), query)
        base = f"{base_url}/{system}/fhir/{resource_type}"
        next_url = f"{base}?{CURSOR_PARAM}={encode_cursor(page.next_query)}" if page.next_query else None
        body = render_bundle(
            self_url=f"{base}?{query_string}" if query_string else base,
            next_url=next_url,
            total=page.total,
            resource_base=base,
            resources=list(zip((e.id for e in page.entries), index.read(page.entries), strict=True)),
        )
        return Response(200, body)

    def _authorize(self, authorization: str | None) -> Response | None:
        token = _bearer(authorization)
        if token is None:
            return _outcome(
                401, "login", "a bearer token is required", {"WWW-Authenticate": f'Bearer realm="{REALM}"'}
            )
        if not self.tokens.is_valid(token):
            challenge = (
                f'Bearer realm="{REALM}", error="invalid_token", error_description="expired or unknown"'
            )
            return _outcome(
                401, "login", "the access token is expired or unknown", {"WWW-Authenticate": challenge}
            )
        if self.limiter is not None:
            wait_s = self.limiter.acquire(token)
            if wait_s > 0:
                retry_after = {"Retry-After": _retry_after(wait_s)}
                return _outcome(429, "throttled", "rate limit exceeded", retry_after)
        return None

    def _capabilities(self, system: str) -> Response:
        search_param = [{"name": "_lastUpdated", "type": "date"}, {"name": "_count", "type": "number"}]
        resources = [
            {"type": resource_type, "interaction": [{"code": "search-type"}], "searchParam": search_param}
            for resource_type in RESOURCE_TYPES.values()
        ]
        body = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "implementation": {"description": f"carehouse simulated {system} FHIR API"},
            "rest": [{"mode": "server", "resource": resources}],
        }
        return Response(200, orjson.dumps(body))
