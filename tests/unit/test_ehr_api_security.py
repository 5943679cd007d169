"""Security properties of the simulated EHR FHIR API, over HTTP on loopback: links never take
their host from the request, and wrong-secret guesses at the token endpoint are cut off."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from ingestion.ehr.api.server import RunningServer, serve
from ingestion.ehr.simulator import simulate_ehr_extract

CLIENT_ID = "security-test-client"
CLIENT_SECRET = "security-test-secret-41d2"
WINDOW_S = 1.0
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ehr-api-security-landing")
    simulate_ehr_extract(root, extract_date=date(2025, 3, 1), patients=30)
    return root


@pytest.fixture
def api(landing: Path) -> Iterator[RunningServer]:
    with serve(
        landing, port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, auth_failure_window_s=WINDOW_S
    ) as running:
        yield running


def post_token(
    api: RunningServer, client_id: str, secret: str, source: str = "127.0.0.1"
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(status, headers, JSON body) of a client-credentials request sent from address ``source``."""
    url = urlsplit(api.token_url)
    connection = http.client.HTTPConnection(
        url.hostname or "", url.port, timeout=10, source_address=(source, 0)
    )
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    try:
        connection.request(
            "POST", url.path, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"}
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def token_for(api: RunningServer) -> str:
    status, _, body = post_token(api, CLIENT_ID, CLIENT_SECRET)
    assert status == 200, body
    return str(body["access_token"])


def bundle_urls(bundle: dict[str, Any]) -> list[str]:
    return [link["url"] for link in bundle["link"]] + [entry["fullUrl"] for entry in bundle.get("entry", [])]


def test_a_forged_host_header_does_not_move_the_paging_links(api: RunningServer) -> None:
    headers = {**FORGED, "Authorization": f"Bearer {token_for(api)}"}
    url: str | None = f"{api.fhir_base('athena')}/Encounter?_count=10"
    pages = 0
    while url is not None:
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert "evil.example" not in response.text
        bundle = response.json()
        assert all(u.startswith(f"{api.url}/athena/fhir/Encounter") for u in bundle_urls(bundle))
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        pages += 1
    assert api.url.startswith("http://127.0.0.1:") and pages > 2


def test_links_start_with_an_explicit_base_url_whatever_the_request_says(landing: Path) -> None:
    with serve(
        landing, port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url="http://ehr.test:9999/"
    ) as api:
        assert api.url == "http://ehr.test:9999"
        port = api.server.server_address[1]
        form = {"grant_type": "client_credentials"}
        local = f"http://127.0.0.1:{port}"
        token = requests.post(f"{local}/oauth/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
        response = requests.get(
            f"{local}/epic/fhir/Patient?_count=5",
            headers={**FORGED, "Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=10,
        )
    urls = bundle_urls(response.json())
    assert len(urls) > 2 and all(u.startswith("http://ehr.test:9999/epic/fhir/Patient") for u in urls)


def test_wrong_secrets_are_cut_off_with_429_until_the_window_passes(api: RunningServer) -> None:
    for _ in range(5):
        status, _, body = post_token(api, CLIENT_ID, "guess")
        assert status == 401 and body == {"error": "invalid_client"}
    status, headers, body = post_token(api, CLIENT_ID, "guess")
    assert status == 429 and body == {"error": "temporarily_unavailable"}
    assert int(headers["Retry-After"]) >= 1 and headers["Cache-Control"] == "no-store"
    # the right secret is not even checked now: a 200 would tell a guesser it guessed right
    assert post_token(api, CLIENT_ID, CLIENT_SECRET)[0] == 429
    # another client id from the same address is not locked out by these failures
    assert post_token(api, "someone-else", "guess")[0] == 401
    time.sleep(WINDOW_S + 0.1)
    assert post_token(api, CLIENT_ID, CLIENT_SECRET)[0] == 200
    assert post_token(api, CLIENT_ID, "guess")[0] == 401


def test_a_correct_client_elsewhere_still_gets_a_token_while_a_guesser_is_locked_out(
    api: RunningServer,
) -> None:
    for _ in range(6):
        status, _, _ = post_token(api, CLIENT_ID, "guess", source="127.0.0.2")
    assert status == 429
    status, _, body = post_token(api, CLIENT_ID, CLIENT_SECRET, source="127.0.0.1")
    assert status == 200 and body["token_type"] == "Bearer"


def test_parallel_guesses_get_no_more_than_the_limit(landing: Path) -> None:
    # the default window (a minute): a connection retried after a full listen backlog takes a second
    with (
        serve(landing, port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as api,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        statuses = list(pool.map(lambda _: post_token(api, CLIENT_ID, "guess")[0], range(20)))
    assert sorted(statuses) == [401] * 5 + [429] * 15


def test_the_token_endpoint_never_echoes_a_secret(api: RunningServer) -> None:
    secret = "echo-me-if-you-dare-9c1"
    for _ in range(6):
        status, headers, body = post_token(api, CLIENT_ID, secret)
        assert secret not in json.dumps(body) + json.dumps(headers)
    assert status == 429
