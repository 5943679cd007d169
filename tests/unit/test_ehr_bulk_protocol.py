"""FHIR Bulk Data $export with SMART Backend Services, both sides, on loopback over real HTTP.

The server is the simulated EHR API over a small simulated landing zone; the client is
``ingestion.ehr.api.bulk_client``. Expected contents come straight from the landing files
(``current_versions``), not from the server's index.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from ingestion.ehr.api.bulk import BulkOptions
from ingestion.ehr.api.bulk_client import (
    BulkDataClient,
    BulkExportError,
    SmartBackendAuth,
    export_to_folder,
    retry_after_seconds,
)
from ingestion.ehr.api.bulk_keys import (
    ENV_PRIVATE_KEY,
    SigningKey,
    load_public_jwks,
    new_private_key_pem,
    resolve_signing_key,
    signing_key,
)
from ingestion.ehr.api.server import RunningServer, serve
from ingestion.ehr.api.smart import ASSERTION_TYPE, BackendClient
from ingestion.ehr.simulator import simulate_ehr_extract
from tests.unit.test_ehr_api_server import DAY_1, current_versions

CLIENT = "bulk-test-client"
RSA_KEY = signing_key(new_private_key_pem("RSA"))
EC_KEY = signing_key(new_private_key_pem("EC"))
OTHER_KEY = signing_key(new_private_key_pem("EC"))
FAST = BulkOptions(polls_until_done=2, retry_after_s=0, resources_per_file=40)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ehr-bulk-landing")
    simulate_ehr_extract(root, extract_date=DAY_1, patients=30)
    return root


def clients(*keys: SigningKey) -> tuple[BackendClient, ...]:
    return (BackendClient(CLIENT, {"keys": [k for key in keys for k in key.public_jwks()["keys"]]}),)


def running(landing: Path, bulk: BulkOptions = FAST, **options: Any):  # -> context manager
    return serve(
        landing,
        port=0,
        backend_clients=clients(RSA_KEY, EC_KEY),
        bulk=bulk,
        auth_max_failures=100,
        **options,
    )


@pytest.fixture(scope="module")
def api(landing: Path) -> Iterator[RunningServer]:
    with running(landing) as server:
        yield server


def assertion(api: RunningServer, key: SigningKey = EC_KEY, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT,
        "sub": CLIENT,
        "aud": api.token_url,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def token_request(
    api: RunningServer, client_assertion: str, scope: str = "system/*.read"
) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
    }
    return requests.post(api.token_url, data=form, timeout=10)


def bearer(api: RunningServer) -> dict[str, str]:
    response = token_request(api, assertion(api))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def kick_off(
    api: RunningServer, path: str = "$export", system: str = "athena", **params: str
) -> requests.Response:
    headers = {**bearer(api), "Accept": "application/fhir+json", "Prefer": "respond-async"}
    return requests.get(f"{api.fhir_base(system)}/{path}", params=params, headers=headers, timeout=10)


def lines_of(folder: Path, resource_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob(f"{resource_type}.*.ndjson"))
        for line in path.read_text().splitlines()
    ]


# -- SMART Backend Services ----------------------------------------------------------------------


def test_discovery_names_the_token_endpoint_and_private_key_jwt(api: RunningServer) -> None:
    response = requests.get(api.smart_configuration_url("epic"), timeout=10)
    assert response.status_code == 200
    config = response.json()
    assert config["token_endpoint"] == api.token_url
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert config["grant_types_supported"] == ["client_credentials"]
    assert "system/*.read" in config["scopes_supported"]


@pytest.mark.parametrize("key", [RSA_KEY, EC_KEY], ids=["RS384", "ES384"])
def test_a_signed_assertion_gets_a_token_for_read_scopes(api: RunningServer, key: SigningKey) -> None:
    for scope in ("system/*.read", "system/*.rs"):
        response = token_request(api, assertion(api, key), scope)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer" and body["scope"] == scope and len(body["access_token"]) > 30


@pytest.mark.parametrize(
    "case",
    ["wrong key", "wrong aud", "expired", "exp too far", "sub differs", "unknown client", "no jti", "HS256"],
)
def test_a_bad_assertion_is_invalid_client_401(api: RunningServer, case: str) -> None:
    now = int(time.time())
    make = {
        "wrong key": lambda: assertion(api, OTHER_KEY),
        "wrong aud": lambda: assertion(api, aud=f"{api.url}/other/token"),
        "expired": lambda: assertion(api, exp=now - 120),
        "exp too far": lambda: assertion(api, exp=now + 3600),
        "sub differs": lambda: assertion(api, sub="someone-else"),
        "unknown client": lambda: assertion(api, iss="intruder", sub="intruder"),
        "no jti": lambda: assertion(api, jti=None),
        "HS256": lambda: jwt.encode(
            {"iss": CLIENT, "sub": CLIENT, "aud": api.token_url, "exp": now + 60, "jti": "x"},
            "a-shared-secret-of-at-least-32-bytes!!",
            algorithm="HS256",
        ),
    }
    response = token_request(api, make[case]())
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_a_replayed_assertion_is_refused(api: RunningServer) -> None:
    once = assertion(api)
    assert token_request(api, once).status_code == 200
    replay = token_request(api, once)
    assert replay.status_code == 401 and replay.json() == {"error": "invalid_client"}


def test_write_scopes_are_refused_and_the_client_secret_path_still_works(landing: Path) -> None:
    with running(landing, client_id="rest-client", client_secret="rest-secret-123") as api:
        assert token_request(api, assertion(api), "system/*.write").json() == {"error": "invalid_scope"}
        by_secret = requests.post(
            api.token_url,
            data={"grant_type": "client_credentials"},
            auth=("rest-client", "rest-secret-123"),
            timeout=10,
        )
        assert by_secret.status_code == 200


# -- kick-off, status, files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "headers", "message"),
    [
        ({}, {"Accept": "application/fhir+json"}, "Prefer: respond-async"),
        ({"_outputFormat": "text/csv"}, None, "_outputFormat"),
        ({"_since": "yesterday"}, None, "_since"),
        ({"_type": "Patient,not a type"}, None, "_type"),
        ({"_typeFilter": "Patient?active=true"}, None, "_typeFilter"),
    ],
)
def test_a_bad_kick_off_is_400_with_an_operation_outcome(
    api: RunningServer, params: dict[str, str], headers: dict[str, str] | None, message: str
) -> None:
    sent = {**bearer(api), **(headers or {"Accept": "application/fhir+json", "Prefer": "respond-async"})}
    response = requests.get(f"{api.fhir_base('athena')}/$export", params=params, headers=sent, timeout=10)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and message in outcome["issue"][0]["diagnostics"]


def test_kick_off_needs_a_token_and_unknown_groups_are_400(api: RunningServer) -> None:
    anonymous = requests.get(
        f"{api.fhir_base('athena')}/$export", headers={"Prefer": "respond-async"}, timeout=10
    )
    assert anonymous.status_code == 401
    assert kick_off(api, "Group/nobody/$export").status_code == 400
    lenient = requests.get(
        f"{api.fhir_base('athena')}/$export",
        params={"_elements": "id"},
        headers={**bearer(api), "Prefer": "respond-async, handling=lenient"},
        timeout=10,
    )
    assert lenient.status_code == 202


def test_status_is_202_with_progress_then_429_when_polled_too_often_then_the_manifest(landing: Path) -> None:
    with running(landing, BulkOptions(polls_until_done=1, retry_after_s=1)) as api:
        response = kick_off(api, _type="Patient")
        assert response.status_code == 202
        status_url = response.headers["Content-Location"]
        assert status_url.startswith(f"{api.fhir_base('athena')}/")
        headers = bearer(api)
        first = requests.get(status_url, headers=headers, timeout=10)
        assert (
            first.status_code == 202 and first.headers["Retry-After"] == "1" and first.headers["X-Progress"]
        )
        too_soon = requests.get(status_url, headers=headers, timeout=10)
        assert too_soon.status_code == 429 and int(too_soon.headers["Retry-After"]) >= 1
        time.sleep(1.05)
        done = requests.get(status_url, headers=headers, timeout=10)
        assert done.status_code == 200
        manifest = done.json()
        assert manifest["requiresAccessToken"] is True
        assert manifest["request"].startswith(f"{api.fhir_base('athena')}/$export?")
        assert [o["type"] for o in manifest["output"]] == ["Patient"]
        assert manifest["output"][0]["url"].startswith(f"{api.fhir_base('athena')}/bulkfiles/")


def test_files_need_a_valid_token_and_are_ndjson(landing: Path) -> None:
    with running(landing, BulkOptions(polls_until_done=0, retry_after_s=0), token_ttl_s=0.5) as api:
        status_url = kick_off(api, _type="Organization").headers["Content-Location"]
        headers = bearer(api)
        manifest = requests.get(status_url, headers=headers, timeout=10).json()
        url = manifest["output"][0]["url"]
        assert requests.get(url, timeout=10).status_code == 401
        served = requests.get(url, headers=headers, timeout=10)
        assert served.status_code == 200 and served.headers["Content-Type"] == "application/fhir+ndjson"
        assert len(served.content.splitlines()) == manifest["output"][0]["count"]
        time.sleep(0.6)
        assert requests.get(url, headers=headers, timeout=10).status_code == 401  # the token expired


def test_delete_cancels_an_export(api: RunningServer) -> None:
    status_url = kick_off(api).headers["Content-Location"]
    headers = bearer(api)
    assert requests.delete(status_url, headers={}, timeout=10).status_code == 401
    assert requests.delete(status_url, headers=headers, timeout=10).status_code == 202
    assert requests.get(status_url, headers=headers, timeout=10).status_code == 404
    assert requests.delete(status_url, headers=headers, timeout=10).status_code == 404


# -- the client, end to end ----------------------------------------------------------------------


def test_a_full_export_survives_a_429_poll_a_429_download_and_an_expired_token(
    landing: Path, tmp_path: Path
) -> None:
    faults = BulkOptions(
        polls_until_done=2,
        retry_after_s=0,
        resources_per_file=40,
        throttle_first_poll=True,
        throttle_first_download=True,
    )
    with running(landing, faults, token_ttl_s=1.0) as api:
        client = BulkDataClient(api.fhir_base("athena"), CLIENT, RSA_KEY)  # discovers the token URL
        assert client.auth.token_url == api.token_url
        status_url = client.kick_off()
        manifest = client.wait(status_url)  # the first poll is a 429 (Retry-After 1 s)
        first_token = client.auth.access_token
        time.sleep(1.05)  # the token expires between the manifest and the downloads
        files, resources = client.download(manifest, tmp_path)  # the first download is a 429 too
        assert client.auth.access_token != first_token  # re-authenticated on the 401
    names = {path.name for path in files}
    assert {"Encounter.1.ndjson", "Encounter.2.ndjson", "Patient.1.ndjson"} <= names
    for entity, resource_type in (
        ("encounter", "Encounter"),
        ("patient", "Patient"),
        ("condition", "Condition"),
    ):
        served = {r["id"]: r["meta"]["lastUpdated"] for r in lines_of(tmp_path, resource_type)}
        assert served == current_versions(landing, "athena", entity)
    assert resources == sum(o["count"] for o in manifest["output"])
    assert max(o["count"] for o in manifest["output"]) <= 40
    for error in manifest["error"]:  # lines the server could not serve are reported, never dropped
        outcome = json.loads((tmp_path / error["url"].rsplit("/", 1)[1]).read_text().splitlines()[0])
        assert outcome["resourceType"] == "OperationOutcome"


def test_since_and_type_are_honoured(api: RunningServer, tmp_path: Path) -> None:
    expected_all = current_versions(Path(api.server.app.config.landing_root), "epic", "encounter")
    stamps = sorted(datetime.fromisoformat(s) for s in expected_all.values())
    middle = stamps[len(stamps) // 2]
    since = middle.astimezone(UTC).isoformat().replace("+00:00", "Z")
    result = export_to_folder(
        api.fhir_base("epic"),
        tmp_path,
        client_id=CLIENT,
        key=EC_KEY,
        types=["Encounter", "Patient"],
        since=since,
    )
    assert {o["type"] for o in result.manifest["output"]} <= {"Encounter", "Patient"}
    assert not list(tmp_path.glob("Condition.*"))
    expected = {i: s for i, s in expected_all.items() if datetime.fromisoformat(s) > middle}
    assert 0 < len(expected) < len(expected_all)
    assert {r["id"]: r["meta"]["lastUpdated"] for r in lines_of(tmp_path, "Encounter")} == expected
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert saved == result.manifest and "_since=" in saved["request"]
    assert datetime.fromisoformat(result.transaction_time) >= max(stamps)


def test_a_group_export_holds_the_members_compartment_only(api: RunningServer, tmp_path: Path) -> None:
    result = export_to_folder(
        api.fhir_base("athena"), tmp_path, client_id=CLIENT, key=EC_KEY, group_id="inpatients"
    )
    assert "/Group/inpatients/$export" in result.manifest["request"]
    encounters = lines_of(tmp_path, "Encounter")
    members = {p["id"] for p in lines_of(tmp_path, "Patient")}
    inpatients = {e["subject"]["reference"].split("/")[-1] for e in encounters if e["class"]["code"] == "IMP"}
    assert members and members == inpatients
    assert {e["subject"]["reference"].split("/")[-1] for e in encounters} == members
    all_patients = current_versions(Path(api.server.app.config.landing_root), "athena", "patient")
    assert len(members) < len(all_patients)
    assert not list(tmp_path.glob("Organization.*")) and not list(tmp_path.glob("Practitioner.*"))


def test_a_refused_client_is_one_line_without_key_material(api: RunningServer, tmp_path: Path) -> None:
    with pytest.raises(BulkExportError) as refused:
        export_to_folder(api.fhir_base("athena"), tmp_path, client_id=CLIENT, key=OTHER_KEY)
    message = str(refused.value)
    assert "invalid_client" in message and "\n" not in message and "PRIVATE" not in message
    auth = SmartBackendAuth(api.token_url, CLIENT, EC_KEY, access_token="secret-token-value")
    assert "secret-token-value" not in repr(auth) and "PRIVATE" not in repr(auth)
    assert "PRIVATE" not in repr(EC_KEY)


# -- helpers ---------------------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) == 2.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("100000") == 120.0


def test_keys_come_from_the_environment_or_a_dev_key_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CAREHOUSE_EHR_BULK_PRIVATE_KEY", "CAREHOUSE_EHR_BULK_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    dev = resolve_signing_key(tmp_path)
    assert dev.from_dev_default and resolve_signing_key(tmp_path).kid == dev.kid  # stored, reused
    assert (tmp_path / "secrets" / "ehr-bulk-dev-key.pem").stat().st_mode & 0o077 == 0
    monkeypatch.setenv(ENV_PRIVATE_KEY, new_private_key_pem("RSA").decode())
    from_env = resolve_signing_key(tmp_path)
    assert from_env.algorithm == "RS384" and not from_env.from_dev_default
    pem = tmp_path / "client.pub.pem"
    from cryptography.hazmat.primitives import serialization

    pem.write_bytes(
        from_env.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert load_public_jwks(pem)["keys"][0]["kid"] == from_env.kid  # server and client agree on kid
    monkeypatch.setenv(ENV_PRIVATE_KEY, "not a key")
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        resolve_signing_key(tmp_path)


def test_exports_of_unchanged_data_get_distinct_transaction_times(landing: Path, tmp_path: Path) -> None:
    """Landing batches are named after transactionTime to the second: a Group export right after
    a full one must not share it, while an export with nothing new keeps the data's clock."""
    with running(landing) as api:
        base = api.fhir_base("epic")
        full = export_to_folder(base, tmp_path / "full", client_id=CLIENT, key=EC_KEY)
        group = export_to_folder(base, tmp_path / "group", client_id=CLIENT, key=EC_KEY, group_id="all")
        nothing = export_to_folder(
            base, tmp_path / "none", client_id=CLIENT, key=EC_KEY, since=group.transaction_time
        )
    newest = max(
        datetime.fromisoformat(stamp)
        for entity in ("patient", "encounter", "condition", "organization")
        for stamp in current_versions(landing, "epic", entity).values()
    )
    assert datetime.fromisoformat(full.transaction_time) >= newest
    first, second = (datetime.fromisoformat(e.transaction_time) for e in (full, group))
    assert second.replace(microsecond=0) == first.replace(microsecond=0) + timedelta(seconds=1)
    assert nothing.files == () and nothing.manifest["output"] == []
