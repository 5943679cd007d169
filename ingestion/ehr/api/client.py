"""dlt ``RESTClient`` pieces for a FHIR API: OAuth2 that survives revoked tokens, Bundle paging.

What dlt already does and carehouse relies on: ``OAuth2ClientCredentials`` fetches a token
(client id/secret as form fields) and refreshes it before ``expires_in`` runs out; the
RESTClient's session retries 429 and 5xx responses, waiting what ``Retry-After`` says (up to
``runtime.request_max_attempts`` attempts, default 5).

What it does not, and this module adds:

- a token can die early (server restart, revocation, clock skew): :class:`ReauthOAuth2ClientCredentials`
  answers a 401 by fetching a new token and re-sending the request once;
- a searchset Bundle has its ``next`` link in ``link[relation=next].url``:
  :class:`BundleNextLinkPaginator` follows it, and only to the API's own origin, so the bearer
  token is never sent to a host a response names;
- pages are parsed once, with orjson (``JSONLinkPaginator`` plus a data selector would parse
  every page two or three times with the stdlib): :class:`FhirClient` hands the whole Bundle
  over as the page's single item.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
from dlt.common import jsonpath
from dlt.common.configuration import configspec
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from dlt.sources.helpers.rest_client.paginators import BaseNextUrlPaginator
from requests import PreparedRequest, Response

from ingestion.ehr.api.credentials import ApiCredentials

_REAUTHED_FLAG = "_carehouse_reauthed"


@configspec
class ReauthOAuth2ClientCredentials(OAuth2ClientCredentials):
    """dlt's client-credentials auth, plus one fresh token and one re-send on a 401."""

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request = super().__call__(request)
        request.register_hook("response", self._retry_with_new_token)
        return request

    def _retry_with_new_token(self, response: Response, **send_options: Any) -> Response:
        request = response.request
        if response.status_code != 401 or getattr(request, _REAUTHED_FLAG, False):
            return response
        response.content  # noqa: B018 - drain and release the connection so the re-send can reuse it
        response.close()
        self.obtain_token()
        # Updated in place: if the session later retries this request (429, 5xx), the retry
        # carries the new token too.
        request.headers["Authorization"] = f"Bearer {self.access_token}"
        setattr(request, _REAUTHED_FLAG, True)
        retried: Response = response.connection.send(request, **send_options)
        retried.history.append(response)
        return retried


class BundleNextLinkPaginator(BaseNextUrlPaginator):
    """Follows ``Bundle.link[relation=next].url``; refuses links to another origin."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = _origin_of(origin)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        bundle = data[0] if data else {}
        links = bundle.get("link") or []
        url = next((link.get("url") for link in links if link.get("relation") == "next"), None)
        if url is not None:
            url = urljoin(response.url, url)
            if _origin_of(url) != self.origin:
                raise ValueError("the API's next link points to another origin; not following it")
        self._next_reference = url


class FhirClient(RESTClient):
    """A RESTClient whose pages are whole FHIR Bundles, parsed once."""

    def extract_response(self, response: Response, data_selector: jsonpath.TJsonPath) -> list[Any]:
        with _collector_paused():
            try:
                bundle = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                bundle = json.loads(response.content)  # e.g. integers beyond 64 bits, which orjson refuses
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise ValueError("the FHIR API answered a search with something other than a Bundle")
        return [bundle]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing a page allocates ~100k containers, so the cyclic GC would run many times over a
    heap full of dlt's objects (measured: a third of the load's time). A parsed JSON tree has no
    reference cycles to find, so the collector sits the parse out."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _origin_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def fhir_client(fhir_base: str, auth: OAuth2ClientCredentials) -> FhirClient:
    """A client for one FHIR base URL (``{server}/{system}/fhir``)."""
    return FhirClient(
        base_url=fhir_base,
        auth=auth,
        paginator=BundleNextLinkPaginator(fhir_base),
        data_selector="$",  # unused by FhirClient; set so the RESTClient does not go detecting one
        headers={"Accept": "application/fhir+json"},
    )


def oauth2(token_url: str, credentials: ApiCredentials) -> ReauthOAuth2ClientCredentials:
    """One token for every system and entity of a load (the server has one token endpoint)."""
    return ReauthOAuth2ClientCredentials(
        access_token_url=token_url,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
    )
