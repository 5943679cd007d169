"""The loader's side of the EHR FHIR API: dlt's RESTClient with re-auth, 429 waits, safe paging,
and the incremental cursor. Runs against the real simulated server on loopback."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from ingestion.ehr.api.client import BundleNextLinkPaginator, fhir_client, oauth2
from ingestion.ehr.api.credentials import (
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ApiCredentials,
    resolve_api_credentials,
)
from ingestion.ehr.api.search import SearchError, SearchQuery, decode_cursor, encode_cursor
from ingestion.ehr.api.server import RunningServer, serve
from ingestion.ehr.api.source import Cursor, api_batch_id
from ingestion.ehr.simulator import simulate_ehr_extract

CREDENTIALS = ApiCredentials("client-unit", "secret-unit-5b1e")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ehr-api-client-landing")
    simulate_ehr_extract(root, extract_date=date(2025, 3, 1), patients=60)
    return root


@pytest.fixture
def api(landing: Path) -> Iterator[RunningServer]:
    with serve(
        landing,
        port=0,
        client_id=CREDENTIALS.client_id,
        client_secret=CREDENTIALS.client_secret,
        rate_limit_per_s=4,
        rate_limit_burst=3,
    ) as running:
        yield running


def encounter_ids(api: RunningServer, revoke_after_page: int | None = None) -> list[str]:
    client = fhir_client(api.fhir_base("athena"), oauth2(api.token_url, CREDENTIALS))
    ids: list[str] = []
    for number, page in enumerate(client.paginate("Encounter", params={"_count": 50}), start=1):
        ids.extend(entry["resource"]["id"] for entry in page[0]["entry"])
        if number == revoke_after_page:
            api.revoke_tokens()
    return ids


def test_the_client_gets_a_new_token_when_the_server_forgets_its_own(
    api: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingestion.ehr.api.server")
    ids = encounter_ids(api, revoke_after_page=1)
    assert len(ids) == len(set(ids)) > 100  # all pages, none twice, though page 2 first got a 401
    served = [r.getMessage() for r in caplog.records if r.name == "ingestion.ehr.api.server"]
    assert served.count("GET /athena/fhir/Encounter 401") == 1
    assert served.count("POST /oauth/token 200") == 2


def test_the_client_waits_out_429_as_retry_after_says_and_loses_nothing(api: RunningServer) -> None:
    started = time.monotonic()
    ids = encounter_ids(api)  # 4 pages on a burst of 3: the 4th request is throttled once
    assert time.monotonic() - started >= 0.9  # waited the whole Retry-After second
    assert len(ids) == len(set(ids)) > 150


def test_next_links_are_followed_only_to_the_api_s_own_origin() -> None:
    paginator = BundleNextLinkPaginator("http://127.0.0.1:8090/athena/fhir")
    response = requests.Response()
    response.url = "http://127.0.0.1:8090/athena/fhir/Encounter?_count=5"
    paginator.update_state(response, [{"link": [{"relation": "next", "url": "Encounter?_cursor=abc"}]}])
    assert paginator.has_next_page
    paginator.update_state(response, [{"link": [{"relation": "self", "url": response.url}]}])
    assert not paginator.has_next_page
    with pytest.raises(ValueError, match="another origin"):
        paginator.update_state(response, [{"link": [{"relation": "next", "url": "http://evil.test/x"}]}])


def test_the_cursor_skips_exactly_what_the_previous_load_covered() -> None:
    cursor = Cursor(1_000)
    cursor.advance(2_000, "a")
    cursor.advance(2_000, "b")
    cursor.advance(1_500, "old")  # served earlier in the same load: does not move the cursor back
    assert cursor == Cursor(2_000, {"a", "b"})
    restored = Cursor.from_state(cursor.to_state())
    assert restored == cursor and cursor.to_state()["last_updated"] == "1970-01-01T00:00:00.002000Z"
    assert restored.already_loaded(2_000, "a")
    assert not restored.already_loaded(2_000, "c")  # stamped in the same instant, served later: new
    assert not restored.already_loaded(3_000, "a")  # a later version of a loaded resource: new
    assert Cursor.from_state(None) is None


def test_api_batch_ids_are_utc_stamps_that_sort_after_file_batches() -> None:
    assert api_batch_id("1740895200.123") == "api-20250302T060000.123000Z"
    assert api_batch_id("1740895200.123") > "20991231T060000Z"


def test_search_cursors_round_trip_and_forged_ones_are_refused() -> None:
    query = SearchQuery(op="gt", bound_us=5, count=10, after=(7, "id/7"))
    assert decode_cursor(encode_cursor(query)) == query
    for forged in ("", "!!!", encode_cursor(query)[:-3], "WzIsbnVsbCxudWxsLDEwLG51bGxd"):
        with pytest.raises(SearchError):
            decode_cursor(forged)


def test_credentials_come_from_arguments_then_env_then_dev_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CLIENT_ID, raising=False)
    monkeypatch.delenv(ENV_CLIENT_SECRET, raising=False)
    monkeypatch.delenv("SOURCES__EHR_API__CLIENT_ID", raising=False)
    monkeypatch.delenv("SOURCES__EHR_API__CLIENT_SECRET", raising=False)
    assert resolve_api_credentials() == ApiCredentials(
        DEV_CLIENT_ID, DEV_CLIENT_SECRET, from_dev_defaults=True
    )
    monkeypatch.setenv(ENV_CLIENT_ID, "env-id")
    monkeypatch.setenv(ENV_CLIENT_SECRET, "env-secret")
    assert resolve_api_credentials() == ApiCredentials("env-id", "env-secret")
    monkeypatch.setenv("SOURCES__EHR_API__CLIENT_SECRET", "dlt-secret")  # dlt's own config chain first
    assert resolve_api_credentials().client_secret == "dlt-secret"
    assert resolve_api_credentials("arg-id", "arg-secret") == ApiCredentials("arg-id", "arg-secret")
    assert "arg-secret" not in repr(resolve_api_credentials("arg-id", "arg-secret"))
