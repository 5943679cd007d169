"""A FHIR Bulk Data ``$export`` client (Bulk Data Access IG v2) with SMART Backend Services auth.

The flow, as a real EHR expects it:

1. discovery: ``{fhir_base}/.well-known/smart-configuration`` names the token endpoint;
2. auth: a client assertion JWT (RS384 for RSA keys, ES384 for EC P-384; ``kid`` header;
   ``iss`` = ``sub`` = client id, ``aud`` = the token endpoint, ``jti`` a fresh uuid4, ``exp``
   five minutes ahead) traded for an access token (``client_credentials``, ``system/*.read``).
   A 401 later (an expired or revoked token) gets a new token and one re-send;
3. kick-off ``GET {fhir_base}/$export`` or ``Group/{id}/$export`` with ``_type``/``_since``:
   202 and the status URL in ``Content-Location``;
4. status polls, waiting what ``Retry-After`` says (seconds or an HTTP date) and logging
   ``X-Progress``; 429 and 5xx answers are retried after their ``Retry-After`` too;
5. the completion manifest, then every ``output`` and ``error`` file, streamed to disk under the
   basename of its URL, and the manifest itself as ``manifest.json``: the folder layout
   ``ingestion.ehr.bulk_export.stage_bulk_export`` stages.

The bearer token goes to the FHIR base's origin only (and the assertion to the token endpoint
the server's discovery names): a manifest naming files elsewhere is refused. Neither the key nor
tokens are ever logged.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin, urlsplit

import jwt
import orjson
import requests

from ingestion.ehr.api.bulk_keys import SigningKey
from ingestion.ehr.api.smart import ASSERTION_TYPE, MAX_ASSERTION_LIFETIME_S

log = logging.getLogger(__name__)

COMPLETION_MANIFEST = "manifest.json"
DEFAULT_SCOPE = "system/*.read"
MAX_ATTEMPTS = 6  # per request, for 429/5xx and transport errors
DEFAULT_WAIT_S = 2.0  # when a 202 or 429 carries no Retry-After
MAX_WAIT_S = 120.0  # a Retry-After longer than this is capped (a server's estimate, not a promise)
_CHUNK_BYTES = 1 << 20


class BulkExportError(RuntimeError):
    """The export failed; the message is one line, without tokens, keys or resource contents."""


def retry_after_seconds(value: str | None, default: float = DEFAULT_WAIT_S) -> float:
    """``Retry-After`` as seconds to wait: delay-seconds or an HTTP date (RFC 9110), capped."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_WAIT_S)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, (moment - datetime.now(UTC)).total_seconds()), MAX_WAIT_S)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


@dataclass
class SmartBackendAuth:
    """Access tokens for one backend client; ``repr`` shows neither the key nor the token."""

    token_url: str
    client_id: str
    key: SigningKey = field(repr=False)
    scope: str = DEFAULT_SCOPE
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    access_token: str | None = field(default=None, repr=False)

    def assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": now + MAX_ASSERTION_LIFETIME_S,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(claims, self.key.private_key, algorithm=self.key.algorithm, headers=headers)

    def obtain_token(self) -> str:
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        for _attempt in range(MAX_ATTEMPTS):
            response = self.session.post(self.token_url, data=form, timeout=30)
            if response.status_code == 429 or response.status_code >= 500:
                time.sleep(retry_after_seconds(response.headers.get("Retry-After")))
                form["client_assertion"] = self.assertion()  # a jti is good for one request only
                continue
            break
        if response.status_code != 200:
            error = _oauth_error(response)
            raise BulkExportError(
                f"the token endpoint refused client {self.client_id!r}: {response.status_code} {error}"
            )
        token = response.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise BulkExportError("the token endpoint answered without an access_token")
        self.access_token = token
        return token


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "(no OAuth2 error body)"
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _outcome_text(response: requests.Response) -> str:
    """The diagnostics of an OperationOutcome answer (server-written text, not resource data)."""
    try:
        body = response.json()
        issues = body.get("issue") or []
        text = "; ".join(str(i.get("diagnostics") or i.get("code")) for i in issues if isinstance(i, dict))
    except (ValueError, AttributeError):
        text = ""
    return text[:300] or response.reason or ""


@dataclass(frozen=True)
class BulkExportResult:
    """What an export delivered into ``folder``."""

    folder: Path
    manifest: dict[str, Any]
    files: tuple[Path, ...]
    resources: int  # lines of the output files (the manifest's counts, verified)

    @property
    def transaction_time(self) -> str:
        return str(self.manifest["transactionTime"])


class BulkDataClient:
    """One FHIR base (``{server}/{system}/fhir``), one backend client."""

    def __init__(
        self,
        fhir_base: str,
        client_id: str,
        key: SigningKey,
        *,
        token_url: str | None = None,
        scope: str = DEFAULT_SCOPE,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 3600.0,
    ) -> None:
        self.fhir_base = fhir_base.rstrip("/")
        self.session = requests.Session()
        self.sleep = sleep
        self.timeout_s = timeout_s
        self.auth = SmartBackendAuth(
            token_url or self.discover_token_url(), client_id, key, scope, session=self.session
        )

    def discover_token_url(self) -> str:
        url = f"{self.fhir_base}/.well-known/smart-configuration"
        try:
            response = self.session.get(url, headers={"Accept": "application/json"}, timeout=30)
        except requests.RequestException as exc:
            raise BulkExportError(f"cannot reach {url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise BulkExportError(f"{url} answered {response.status_code}; give the token URL explicitly")
        token_url = response.json().get("token_endpoint")
        if not isinstance(token_url, str) or urlsplit(token_url).scheme not in ("http", "https"):
            raise BulkExportError(f"{url} names no token_endpoint")
        return token_url

    # -- requests with auth, retries and re-authentication --------------------------------------

    def _request(self, method: str, url: str, *, stream: bool = False, **kwargs: Any) -> requests.Response:
        """``method`` on ``url`` (same origin as the FHIR base only) with the bearer token; 401 →
        new token and a re-send (a token refused right after a new one was fetched is final);
        429/5xx/transport errors → wait ``Retry-After`` and retry."""
        if _origin(url) != _origin(self.fhir_base):
            raise BulkExportError("the server named a URL on another origin; not sending the token there")
        reauthenticated = False  # the previous answer was a 401 that fetched a new token
        for attempt in range(1, MAX_ATTEMPTS + 1):
            token = self.auth.access_token or self.auth.obtain_token()
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
            kwargs["headers"] = headers
            try:
                response = self.session.request(method, url, stream=stream, timeout=60, **kwargs)
            except requests.RequestException as exc:
                if attempt == MAX_ATTEMPTS:
                    raise BulkExportError(f"{method} {urlsplit(url).path}: {type(exc).__name__}") from None
                self.sleep(DEFAULT_WAIT_S)
                continue
            if response.status_code == 401 and not reauthenticated and attempt < MAX_ATTEMPTS:
                response.close()
                log.info("access token refused (expired?); authenticating again")
                self.auth.obtain_token()
                reauthenticated = True
                continue
            reauthenticated = False  # e.g. a 429 wait, during which the new token can expire too
            if (response.status_code == 429 or response.status_code >= 500) and attempt < MAX_ATTEMPTS:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                log.info(
                    "%s %s: %d, retrying in %.0f s", method, urlsplit(url).path, response.status_code, wait
                )
                response.close()
                self.sleep(wait)
                continue
            return response
        raise AssertionError("unreachable")  # the last attempt always returns or raises

    # -- the protocol ----------------------------------------------------------------------------

    def kick_off(
        self, *, group_id: str | None = None, types: Sequence[str] = (), since: str | None = None
    ) -> str:
        """Start an export; returns the status URL."""
        path = f"Group/{group_id}/$export" if group_id else "$export"
        params = {"_outputFormat": "application/fhir+ndjson"}
        if types:
            params["_type"] = ",".join(types)
        if since:
            params["_since"] = since
        headers = {"Accept": "application/fhir+json", "Prefer": "respond-async"}
        response = self._request("GET", f"{self.fhir_base}/{path}", params=params, headers=headers)
        if response.status_code != 202:
            raise BulkExportError(f"$export kick-off: {response.status_code} {_outcome_text(response)}")
        location = response.headers.get("Content-Location")
        if not location:
            raise BulkExportError("$export kick-off: 202 without a Content-Location status URL")
        return urljoin(response.url, location)

    def wait(self, status_url: str) -> dict[str, Any]:
        """Poll until the export completes; returns the completion manifest."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            response = self._request("GET", status_url, headers={"Accept": "application/json"})
            if response.status_code == 200:
                manifest = response.json()
                if not isinstance(manifest, dict) or "transactionTime" not in manifest:
                    raise BulkExportError("the export's completion manifest has no transactionTime")
                return manifest
            if response.status_code != 202:
                raise BulkExportError(f"export status: {response.status_code} {_outcome_text(response)}")
            progress = response.headers.get("X-Progress")
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            log.info("export in progress%s; next poll in %.0f s", f" ({progress})" if progress else "", wait)
            if time.monotonic() + wait > deadline:
                self.cancel(status_url)
                raise BulkExportError(
                    f"the export did not complete within {self.timeout_s:.0f} s (cancelled)"
                )
            self.sleep(wait)

    def cancel(self, status_url: str) -> None:
        response = self._request("DELETE", status_url)
        if response.status_code not in (200, 202, 404):
            raise BulkExportError(f"cancelling the export: {response.status_code} {_outcome_text(response)}")

    def download(self, manifest: dict[str, Any], folder: Path) -> tuple[list[Path], int]:
        """Every output and error file of ``manifest`` into ``folder``; returns (paths, output lines)."""
        entries = [(e, True) for e in manifest.get("output") or []] + [
            (e, False) for e in manifest.get("error") or []
        ]
        needs_token = manifest.get("requiresAccessToken", True)
        folder.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        resources = 0
        for entry, is_output in entries:
            url = entry.get("url") if isinstance(entry, dict) else None
            if not isinstance(url, str):
                raise BulkExportError("a manifest entry has no url")
            name = PurePosixPath(urlsplit(url).path).name
            if not name or name == COMPLETION_MANIFEST or name.startswith(".") or (folder / name) in paths:
                raise BulkExportError(f"manifest file name {name!r} is unusable or repeated")
            target = folder / name
            lines = self._fetch(url, target, needs_token)
            if is_output and isinstance(entry.get("count"), int) and entry["count"] != lines:
                raise BulkExportError(f"{name}: the manifest says {entry['count']} resources, got {lines}")
            resources += lines if is_output else 0
            paths.append(target)
        return paths, resources

    def _fetch(self, url: str, target: Path, needs_token: bool) -> int:
        headers = {"Accept": "application/fhir+ndjson"}
        if needs_token:
            response = self._request("GET", url, stream=True, headers=headers)
        else:  # a pre-signed URL: no token, wherever it points
            response = self.session.get(url, stream=True, headers=headers, timeout=60)
        if response.status_code != 200:
            raise BulkExportError(f"downloading {target.name}: {response.status_code}")
        temp = target.with_name(f".{target.name}.part")
        lines = 0
        last = b"\n"
        with response, temp.open("wb") as handle:
            for chunk in response.iter_content(_CHUNK_BYTES):
                handle.write(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:] or last
        temp.replace(target)
        return lines + (last != b"\n")


def export_to_folder(
    fhir_base: str,
    folder: Path,
    *,
    client_id: str,
    key: SigningKey,
    token_url: str | None = None,
    group_id: str | None = None,
    types: Sequence[str] = (),
    since: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BulkExportResult:
    """Run one ``$export`` and deliver it into ``folder`` (files + ``manifest.json``)."""
    client = BulkDataClient(fhir_base, client_id, key, token_url=token_url, sleep=sleep)
    status_url = client.kick_off(group_id=group_id, types=types, since=since)
    manifest = client.wait(status_url)
    paths, resources = client.download(manifest, folder)
    (folder / COMPLETION_MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    log.info("export of %s: %d file(s), %d resource(s)", fhir_base, len(paths), resources)
    return BulkExportResult(folder, manifest, tuple(paths), resources)
