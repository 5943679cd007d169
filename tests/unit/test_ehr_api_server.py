"""The simulated EHR FHIR API on loopback: OAuth2 tokens, 401/429, searchset paging, filters.

Expected results are computed here straight from the simulator's landing files (latest
``meta.lastUpdated`` per id of the well-formed lines), not from the server's own index.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from ingestion.ehr.api.server import RunningServer, serve
from ingestion.ehr.resources import EHR_SYSTEMS, RESOURCE_TYPES
from ingestion.ehr.simulator import simulate_ehr_extract
from ingestion.landing import complete_batches

CLIENT_ID = "unit-test-client"
CLIENT_SECRET = "unit-test-secret-7f3a9c"
DAY_1, DAY_2 = date(2025, 3, 1), date(2025, 3, 2)


def current_versions(landing: Path, system: str, entity: str) -> dict[str, str]:
    """{id: lastUpdated} of the latest version per id, ties to the later batch, line, file."""
    best: dict[str, tuple[tuple[datetime, str, int, str], str]] = {}
    for batch in complete_batches(landing, "carehouse", "dev", system, entity):
        for path in sorted(batch.glob("*.ndjson")):
            for line_number, line in enumerate(path.read_bytes().splitlines(), start=1):
                try:
                    resource = json.loads(line)
                except ValueError:
                    continue  # a truncated line: not a resource
                if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
                    continue
                stamp = resource["meta"]["lastUpdated"]
                rank = (datetime.fromisoformat(stamp), batch.name, line_number, path.name)
                if resource["id"] not in best or rank > best[resource["id"]][0]:
                    best[resource["id"]] = (rank, stamp)
    return {resource_id: stamp for resource_id, (_, stamp) in best.items()}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ehr-api-landing")
    simulate_ehr_extract(root, extract_date=DAY_1, patients=60)
    return root


@pytest.fixture(scope="module")
def api(landing: Path) -> Iterator[RunningServer]:
    with serve(landing, port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as running:
        yield running


def token_for(api: RunningServer) -> str:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = requests.post(api.token_url, data=form, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


def search(api: RunningServer, token: str | None, url: str, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, params=params, headers=headers, timeout=10)


def all_pages(api: RunningServer, token: str, system: str, resource_type: str, **params: Any) -> list[dict]:
    bundles = []
    url: str | None = f"{api.fhir_base(system)}/{resource_type}"
    while url is not None:
        response = search(api, token, url, **params)
        assert response.status_code == 200, response.text
        bundles.append(response.json())
        params = {}  # the next link carries everything
        url = next((link["url"] for link in bundles[-1]["link"] if link["relation"] == "next"), None)
    return bundles


def test_client_credentials_by_form_or_basic_auth_return_an_expiring_bearer_token(api: RunningServer) -> None:
    by_form = requests.post(
        api.token_url,
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=10,
    )
    by_basic = requests.post(
        api.token_url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10
    )
    for response in (by_form, by_basic):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = response.json()
        assert (
            body["token_type"] == "Bearer" and body["expires_in"] == 3600 and len(body["access_token"]) > 30
        )
    assert by_form.json()["access_token"] != by_basic.json()["access_token"]


def test_a_wrong_secret_or_grant_type_gets_no_token(api: RunningServer) -> None:
    wrong_secret = requests.post(
        api.token_url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"), timeout=10
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json() == {"error": "invalid_client"}
    wrong_grant = requests.post(
        api.token_url, data={"grant_type": "password"}, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10
    )
    assert wrong_grant.status_code == 400 and wrong_grant.json() == {"error": "unsupported_grant_type"}


@pytest.mark.parametrize("token", [None, "not-a-token-this-server-issued"])
def test_a_search_without_a_valid_token_is_401_with_a_bearer_challenge(
    api: RunningServer, token: str | None
) -> None:
    response = search(api, token, f"{api.fhir_base('athena')}/Encounter")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_tokens_expire_after_their_ttl(landing: Path) -> None:
    with serve(landing, port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_ttl_s=0.4) as api:
        token = token_for(api)
        url = f"{api.fhir_base('epic')}/Organization"
        assert search(api, token, url).status_code == 200
        time.sleep(0.5)
        expired = search(api, token, url)
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_the_rate_limit_answers_429_with_retry_after_per_token(landing: Path) -> None:
    with serve(
        landing,
        port=0,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        rate_limit_per_s=1,
        rate_limit_burst=2,
    ) as api:
        first, second = token_for(api), token_for(api)
        url = f"{api.fhir_base('athena')}/Location"
        statuses = [search(api, first, url).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        throttled = search(api, first, url)
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert search(api, second, url).status_code == 200  # buckets are per token


@pytest.mark.parametrize("system", EHR_SYSTEMS)
def test_next_links_page_through_the_current_version_of_every_resource_in_order(
    api: RunningServer, landing: Path, system: str
) -> None:
    bundles = all_pages(api, token_for(api), system, "Encounter", _count=37)
    expected = current_versions(landing, system, "encounter")
    assert len(bundles) == -(-len(expected) // 37) > 2
    for bundle in bundles:
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
        assert bundle["total"] == len(expected)
        assert all(link["url"].startswith(api.url + "/") for link in bundle["link"])
    entries = [entry for bundle in bundles for entry in bundle["entry"]]
    resources = [entry["resource"] for entry in entries]
    served = {r["id"]: r["meta"]["lastUpdated"] for r in resources}
    assert len(served) == len(resources)  # every id exactly once: current versions only
    assert served == expected
    order = [(datetime.fromisoformat(r["meta"]["lastUpdated"]), r["id"]) for r in resources]
    assert order == sorted(order)
    assert entries[0]["fullUrl"] == f"{api.fhir_base(system)}/Encounter/{resources[0]['id']}"


def test_last_updated_gt_and_ge_filter_on_the_instant(api: RunningServer, landing: Path) -> None:
    expected = current_versions(landing, "athena", "patient")
    pivot_text = sorted(expected.values(), key=datetime.fromisoformat)[len(expected) // 2]
    pivot = datetime.fromisoformat(pivot_text)
    token = token_for(api)
    for prefix, keep in (("gt", lambda t: t > pivot), ("ge", lambda t: t >= pivot)):
        bundles = all_pages(api, token, "athena", "Patient", _lastUpdated=prefix + pivot_text, _count=10)
        served = {e["resource"]["id"] for b in bundles for e in b["entry"]}
        wanted = {rid for rid, stamp in expected.items() if keep(datetime.fromisoformat(stamp))}
        assert served == wanted and bundles[0]["total"] == len(wanted)
    # the same instant written in another offset selects the same resources
    eastern = pivot.astimezone(timezone(timedelta(hours=-5))).isoformat()
    bundles = all_pages(api, token, "athena", "Patient", _lastUpdated="gt" + eastern, _count=1000)
    assert bundles[0]["total"] == sum(datetime.fromisoformat(s) > pivot for s in expected.values())


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("athena/fhir/Encounter", {"_count": "many"}, 400),
        ("athena/fhir/Encounter", {"_lastUpdated": "eq2025-03-01T00:00:00Z"}, 400),
        ("athena/fhir/Encounter", {"_lastUpdated": "gt2025-03-01"}, 400),
        ("athena/fhir/Encounter", {"_cursor": "bm90IGEgY3Vyc29y"}, 400),
        ("athena/fhir/Medication", {}, 404),
        ("cerner/fhir/Encounter", {}, 404),
    ],
)
def test_searches_the_server_cannot_run_are_refused_with_an_operation_outcome(
    api: RunningServer, path: str, params: dict[str, str], status: int
) -> None:
    response = search(api, token_for(api), f"{api.url}/{path}", **params)
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_count_zero_returns_only_the_total_and_large_counts_are_capped(
    api: RunningServer, landing: Path
) -> None:
    token = token_for(api)
    url = f"{api.fhir_base('athena')}/Condition"
    counted = search(api, token, url, _count=0).json()
    assert counted["total"] == len(current_versions(landing, "athena", "condition"))
    assert counted["entry"] == [] and [link["relation"] for link in counted["link"]] == ["self"]
    assert len(search(api, token, url, _count=5000).json()["entry"]) == min(1000, counted["total"])


def test_every_resource_type_is_searchable_even_before_the_feed_sends_it(api: RunningServer) -> None:
    token = token_for(api)
    for resource_type in RESOURCE_TYPES.values():
        response = search(api, token, f"{api.fhir_base('epic')}/{resource_type}", _count=1)
        assert response.status_code == 200, resource_type
    capabilities = requests.get(f"{api.fhir_base('epic')}/metadata", timeout=10).json()  # public, no token
    assert {r["type"] for r in capabilities["rest"][0]["resource"]} == set(RESOURCE_TYPES.values())


def test_batches_that_land_while_serving_are_served_without_a_restart(landing: Path, tmp_path: Path) -> None:
    root = tmp_path / "landing"
    shutil.copytree(landing, root)
    with serve(root, port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as api:
        token = token_for(api)
        before = all_pages(api, token, "epic", "Patient", _count=1000)[0]["total"]
        simulate_ehr_extract(root, extract_date=DAY_2, patients=60)
        bundles = all_pages(api, token, "epic", "Patient", _count=1000)
    served = {e["resource"]["id"]: e["resource"]["meta"]["lastUpdated"] for b in bundles for e in b["entry"]}
    assert served == current_versions(root, "epic", "patient")
    assert len(served) >= before


def test_logs_carry_method_path_and_status_only(
    landing: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve(landing, port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as api:
        token = token_for(api)
        bundle = search(
            api, token, f"{api.fhir_base('athena')}/Patient", _lastUpdated="gt2024-01-01T00:00:00Z"
        )
        requests.post(
            api.token_url, data={"grant_type": "client_credentials"}, auth=("x", "wrong"), timeout=10
        )
        family = bundle.json()["entry"][0]["resource"]["name"][0]["family"]
    # the server's own records (the test's HTTP client logs its URLs; that is the client's business)
    server_records = [r.getMessage() for r in caplog.records if r.name.startswith("ingestion.ehr.api")]
    logged = "\n".join(server_records) + "".join(capfd.readouterr())
    assert "GET /athena/fhir/Patient 200" in logged and "POST /oauth/token 401" in logged
    for leak in (CLIENT_SECRET, token, "wrong", "_lastUpdated", family):
        assert leak not in logged
