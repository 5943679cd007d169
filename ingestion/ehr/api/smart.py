"""The server side of SMART Backend Services: discovery and the signed-JWT client assertion.

A backend client authenticates with ``grant_type=client_credentials``,
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a
``client_assertion`` JWT it signed with its private key (RS384 or ES384). The server holds each
registered client's public keys (a JWK Set) and accepts the assertion only if:

- the signature verifies with a key of that client (by ``kid`` when the header names one);
- ``iss`` = ``sub`` = the client id, ``aud`` = this server's token endpoint URL;
- ``exp`` is in the future and at most five minutes ahead (a small clock-skew allowance);
- its ``jti`` was not seen before (kept until the assertion expires: a replay is refused).

Every failure is ``invalid_client`` to the caller; the reason goes to the server log only (no
claims, no key material).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SIGNING_ALGORITHMS = ("RS384", "ES384")
MAX_ASSERTION_LIFETIME_S = 300
CLOCK_SKEW_S = 30
SMART_CONFIGURATION = ".well-known/smart-configuration"
# system/*.read (SMART v1) and system/*.rs (v2), or one resource type instead of *
_SCOPE = re.compile(r"system/(\*|[A-Z][A-Za-z]+)\.(read|rs|r|s)")
SUPPORTED_SCOPES = ("system/*.read", "system/*.rs")


class InvalidAssertion(ValueError):
    """A client assertion the server refuses (answered ``invalid_client``)."""


@dataclass(frozen=True)
class BackendClient:
    """A registered backend client: its id and public JWK Set."""

    client_id: str
    jwks: dict[str, Any]


def valid_scope(scope: str) -> bool:
    """Read-only system scopes only (Bulk Data export reads)."""
    parts = scope.split()
    return bool(parts) and all(_SCOPE.fullmatch(part) for part in parts)


class AssertionVerifier:
    """Checks client assertions of the registered clients; remembers used ``jti``s until expiry."""

    def __init__(self, clients: Iterable[BackendClient]) -> None:
        self._keys: dict[str, list[jwt.PyJWK]] = {}
        for client in clients:
            keys = []
            for jwk in client.jwks.get("keys", []):
                try:
                    keys.append(jwt.PyJWK(jwk))
                except jwt.PyJWTError:
                    log.warning(
                        "backend client %s: a key of its JWK Set is unusable, ignored", client.client_id
                    )
            self._keys[client.client_id] = keys
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], float] = {}

    @property
    def client_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def verify(self, assertion: str, audience: str) -> str:
        """The client id the assertion authenticates; raises :class:`InvalidAssertion`."""
        try:
            header = jwt.get_unverified_header(assertion)
            claimed = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise InvalidAssertion("not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in SIGNING_ALGORITHMS:
            raise InvalidAssertion("signing algorithm not supported")
        client_id = claimed.get("iss")
        keys = self._keys.get(client_id) if isinstance(client_id, str) else None
        if not keys:
            raise InvalidAssertion("unknown client")
        kid = header.get("kid")
        candidates = [k for k in keys if kid is None or k.key_id == kid]
        claims = None
        for key in candidates:
            try:
                claims = jwt.decode(
                    assertion,
                    key.key,
                    algorithms=[algorithm],
                    audience=audience,
                    issuer=client_id,
                    leeway=CLOCK_SKEW_S,
                    options={"require": ["iss", "sub", "aud", "exp", "jti"]},
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise InvalidAssertion(type(exc).__name__) from None
        if claims is None:
            raise InvalidAssertion("signature does not verify with the client's keys")
        if claims["sub"] != client_id:
            raise InvalidAssertion("sub differs from iss")
        now = time.time()
        expires = float(claims["exp"])
        if expires > now + MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S:
            raise InvalidAssertion("exp more than five minutes ahead")
        self._remember(client_id, str(claims["jti"]), expires, now)
        return client_id

    def _remember(self, client_id: str, jti: str, expires: float, now: float) -> None:
        with self._lock:
            self._seen = {k: at for k, at in self._seen.items() if at + CLOCK_SKEW_S > now}
            if (client_id, jti) in self._seen:
                raise InvalidAssertion("jti replayed")
            self._seen[(client_id, jti)] = expires


def smart_configuration(token_url: str) -> dict[str, Any]:
    """``/.well-known/smart-configuration`` of a FHIR base (SMART App Launch 2, backend services)."""
    return {
        "token_endpoint": token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": [*SUPPORTED_SCOPES, "system/Patient.read", "system/Patient.rs"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }
