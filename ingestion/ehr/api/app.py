"""The simulated EHR FHIR API as plain functions from a request to a :class:`Response`.

Kept apart from the HTTP plumbing (``server.py``) so the behaviour reads in one place:

- ``POST /oauth/token``: OAuth2 client credentials (HTTP Basic or form fields), returns an
  expiring bearer token; errors follow RFC 6749 (``invalid_client``, ``unsupported_grant_type``).
  Wrong credentials are limited per (remote address, client id): past the limit, 429 with
  ``Retry-After`` until the window passes, without checking the secret.
  With ``client_assertion_type`` = jwt-bearer instead, SMART Backend Services: a signed JWT
  client assertion (``smart.py``) for a registered backend client.
- ``GET /{system}/fhir/metadata``: a CapabilityStatement (public, as in FHIR);
  ``GET /{system}/fhir/.well-known/smart-configuration``: SMART discovery (public).
- Bulk Data ``$export`` (``bulk.py``): kick-off at system or ``Group/{id}`` level, status
  polling and cancel at ``/{system}/fhir/bulkstatus/{job}``, files at
  ``/{system}/fhir/bulkfiles/{job}/{name}`` (bearer token required for all three).
- ``GET /{system}/fhir/{ResourceType}?_lastUpdated=gt…&_count=…``: a searchset Bundle
  (see ``search.py``). 401 with ``WWW-Authenticate: Bearer`` for a missing, unknown or expired
  token, then 429 with ``Retry-After`` when the token's rate limit is exceeded.

Absolute URLs (Bundle links, ``fullUrl``) start with the server's configured base URL, never
with the request's ``Host`` header: a client would follow a forged host with its bearer token.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode

import orjson

from ingestion.ehr.api.bulk import BulkExports, BulkOptions, ExportError, ExportJob, parse_kickoff
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
from ingestion.ehr.api.smart import (
    ASSERTION_TYPE,
    SMART_CONFIGURATION,
    AssertionVerifier,
    BackendClient,
    InvalidAssertion,
    smart_configuration,
    valid_scope,
)
from ingestion.ehr.api.tokens import FailureLimiter, RateLimiter, TokenStore
from ingestion.ehr.resources import EHR_SYSTEMS, RESOURCE_TYPES

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/token"
FHIR_JSON = "application/fhir+json; charset=utf-8"
OAUTH_JSON = "application/json; charset=utf-8"
NDJSON = "application/fhir+ndjson"
BULK_STATUS, BULK_FILES = "bulkstatus", "bulkfiles"
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
    systems: tuple[str, ...] = EHR_SYSTEMS  # the EHR systems served: /{system}/fhir/...
    backend_clients: tuple[BackendClient, ...] = ()  # SMART Backend Services clients (public keys)
    bulk: BulkOptions = field(default_factory=BulkOptions)


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
        self.assertions = AssertionVerifier(config.backend_clients)
        self.exports = BulkExports(self.index, config.bulk)

    def token(
        self, authorization: str | None, form: Mapping[str, Sequence[str]], remote: str, base_url: str = ""
    ) -> Response:
        """``POST /oauth/token`` with an already parsed form body, from ``remote`` (the peer address).

        ``base_url`` (the server's configured root) names the token endpoint, the audience a
        client assertion must carry."""
        if form.get("grant_type", [""])[0] != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        if "client_assertion_type" in form or "client_assertion" in form:
            return self._backend_token(form, remote, f"{base_url}{TOKEN_PATH}")
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
        return self._token_response()

    def _token_response(self, scope: str | None = None) -> Response:
        body: dict[str, object] = {
            "access_token": self.tokens.issue(),
            "token_type": "Bearer",
            "expires_in": int(self.tokens.ttl_s),  # rounded down: a client never trusts a token too long
        }
        if scope is not None:
            body["scope"] = scope
        return Response(
            200, orjson.dumps(body), OAUTH_JSON, {"Cache-Control": "no-store", "Pragma": "no-cache"}
        )

    def _backend_token(self, form: Mapping[str, Sequence[str]], remote: str, token_url: str) -> Response:
        """SMART Backend Services: a signed JWT assertion instead of a secret (``smart.py``)."""
        assertion_type = form.get("client_assertion_type", [""])[0]
        assertion = form.get("client_assertion", [""])[0]
        scope = form.get("scope", [""])[0]
        if assertion_type != ASSERTION_TYPE or not assertion:
            return _oauth_error(400, "invalid_request")
        if not valid_scope(scope):
            return _oauth_error(400, "invalid_scope")
        key = (remote, "assertion")  # the client id inside an unverified JWT is the caller's choice
        wait_s = self.auth_failures.attempt(key)
        if wait_s > 0:
            return _oauth_error(429, "temporarily_unavailable", {"Retry-After": _retry_after(wait_s)})
        try:
            self.assertions.verify(assertion, token_url)
        except InvalidAssertion as exc:
            log.info("client assertion refused: %s", exc)
            return _oauth_error(401, "invalid_client")
        self.auth_failures.succeeded(key)
        return self._token_response(scope)

    def get(
        self,
        path: str,
        query_string: str,
        authorization: str | None,
        base_url: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Any GET; ``base_url`` (the server's configured root, not the request's) starts Bundle links.

        ``headers`` (lower-case names) matter to the ``$export`` kick-off only."""
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if len(parts) < 3 or parts[1] != "fhir" or parts[0] not in self.config.systems:
            return _outcome(404, "not-found", "no such endpoint; try /{system}/fhir/{ResourceType}")
        system, rest = parts[0], parts[2:]
        if "/".join(rest) == SMART_CONFIGURATION:
            return Response(200, orjson.dumps(smart_configuration(f"{base_url}{TOKEN_PATH}")), OAUTH_JSON)
        if (rest != ["metadata"] and len(rest) > 1) or rest[0] == "$export":
            return self._bulk(system, rest, query_string, authorization, base_url, headers or {})
        resource_type = rest[0]
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

    def delete(self, path: str, authorization: str | None) -> Response:
        """``DELETE /{system}/fhir/bulkstatus/{job}``: cancel an export (202), else 404."""
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if (
            len(parts) != 4
            or parts[1] != "fhir"
            or parts[0] not in self.config.systems
            or parts[2] != BULK_STATUS
        ):
            return _outcome(404, "not-found", "only an export's status URL can be deleted")
        refused = self._authorize(authorization)
        if refused is not None:
            return refused
        job = self.exports.job(parts[3])
        if job is None or job.system != parts[0] or not self.exports.cancel(job.id):
            return _outcome(404, "not-found", "no such export (finished, cancelled or expired)")
        return _outcome(202, "informational", "export cancelled")

    def _bulk(
        self,
        system: str,
        rest: list[str],
        query_string: str,
        authorization: str | None,
        base_url: str,
        headers: Mapping[str, str],
    ) -> Response:
        refused = self._authorize(authorization)
        if refused is not None:
            return refused
        fhir_base = f"{base_url}/{system}/fhir"
        if rest == ["$export"] or (len(rest) == 3 and rest[0] == "Group" and rest[2] == "$export"):
            group = rest[1] if len(rest) == 3 else None
            params = parse_qs(query_string, keep_blank_values=True)
            try:
                request = parse_kickoff(params, headers)
                request_url = f"{fhir_base}/{'/'.join(rest)}" + (
                    f"?{urlencode(params, doseq=True)}" if params else ""
                )
                job = self.exports.kick_off(system, group, request, request_url)
            except ExportError as exc:
                return _outcome(400, "invalid", str(exc))
            status_url = f"{fhir_base}/{BULK_STATUS}/{job.id}"
            return _outcome(202, "informational", "export accepted", {"Content-Location": status_url})
        job = self.exports.job(rest[1]) if len(rest) in (2, 3) else None
        if job is None or job.system != system or rest[0] not in (BULK_STATUS, BULK_FILES):
            return _outcome(404, "not-found", "no such export (finished, cancelled or expired)")
        if rest[0] == BULK_STATUS and len(rest) == 2:
            return self._export_status(job, f"{fhir_base}/{BULK_FILES}/{job.id}")
        export_file = job.file(rest[2]) if len(rest) == 3 else None
        if export_file is None:
            return _outcome(404, "not-found", "no such file in this export")
        if self.exports.throttle_download(job):
            return _outcome(429, "throttled", "too many downloads", {"Retry-After": "1"})
        return Response(200, export_file.body(), NDJSON)

    def _export_status(self, job: ExportJob, files_url: str) -> Response:
        state, wait_s = self.exports.poll(job)
        if state == "throttled":
            return _outcome(429, "throttled", "polled too often", {"Retry-After": _retry_after(wait_s)})
        if state == "in-progress":
            retry = {"Retry-After": str(int(wait_s)), "X-Progress": self.exports.progress(job)}
            return Response(202, b"", OAUTH_JSON, retry)
        return Response(200, orjson.dumps(job.manifest(files_url)), OAUTH_JSON)

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
