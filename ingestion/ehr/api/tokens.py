"""OAuth2 access tokens and per-token rate limits of the simulated FHIR server.

Tokens are random, opaque and short-lived (a configurable TTL), as a real EHR's are, so the
loader has to handle expiry; they live in memory only, so a server restart revokes them all
(:meth:`TokenStore.revoke_all` simulates exactly that). The rate limit is a token bucket per
access token, answering with how long the caller must wait: what ``Retry-After`` reports.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from ingestion.ehr.api.credentials import ApiCredentials


class TokenStore:
    """Issues and checks bearer tokens for one client id/secret pair."""

    def __init__(self, credentials: ApiCredentials, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError("token TTL must be positive")
        self._credentials = credentials
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def client_matches(self, client_id: str, client_secret: str) -> bool:
        """Constant-time comparison of both values (no early exit that leaks which one differs)."""
        id_ok = hmac.compare_digest(client_id.encode(), self._credentials.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self._credentials.client_secret.encode())
        return id_ok and secret_ok

    def issue(self) -> str:
        now = time.monotonic()
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expiry = {t: at for t, at in self._expiry.items() if at > now}
            self._expiry[token] = now + self.ttl_s
        return token

    def is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def revoke_all(self) -> None:
        with self._lock:
            self._expiry.clear()


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per access token: ``rate_per_s`` sustained, bursts up to ``burst`` requests."""

    def __init__(self, rate_per_s: float, burst: int | None = None) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate limit must be positive (use no limiter for unlimited)")
        self.rate_per_s = rate_per_s
        self.burst = float(burst if burst is not None else max(1, round(rate_per_s)))
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 if allowed, else seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._drop_full_buckets(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate_per_s

    def _drop_full_buckets(self, now: float) -> None:
        """A bucket idle long enough to be full again is the same as no bucket: forget it."""
        refill_s = self.burst / self.rate_per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill_s}
