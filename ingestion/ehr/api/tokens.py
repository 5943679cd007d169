"""OAuth2 access tokens and per-token rate limits of the simulated FHIR server.

Tokens are random, opaque and short-lived (a configurable TTL), as a real EHR's are, so the
loader has to handle expiry; they live in memory only, so a server restart revokes them all
(:meth:`TokenStore.revoke_all` simulates exactly that). The rate limit is a token bucket per
access token, answering with how long the caller must wait: what ``Retry-After`` reports.
:class:`FailureLimiter` caps wrong-secret guesses at the token endpoint the same way.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Hashable
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


class FailureLimiter:
    """At most ``max_failures`` failed authentications per key within a sliding ``window_s``.

    An attempt is charged as a failure *before* the secret is checked and refunded when it
    authenticates: checking first and counting afterwards would let parallel guesses all pass
    the check before any of them is counted.
    """

    def __init__(self, max_failures: int, window_s: float) -> None:
        if max_failures < 1 or window_s <= 0:
            raise ValueError("the failure limit and its window must be positive")
        self.max_failures = max_failures
        self.window_s = window_s
        self._lock = threading.Lock()
        self._failures: dict[Hashable, deque[float]] = {}

    def attempt(self, key: Hashable) -> float:
        """Charge one attempt to ``key``: 0.0 if it may go ahead, else seconds until one may."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(key)
            if failures is None:
                self._drop_idle(now)  # keys are attacker-chosen (client ids): do not keep stale ones
                failures = self._failures[key] = deque()
            while failures and failures[0] <= now - self.window_s:
                failures.popleft()
            if len(failures) >= self.max_failures:
                return failures[0] + self.window_s - now
            failures.append(now)
            return 0.0

    def succeeded(self, key: Hashable) -> None:
        """Refund the charge of an attempt of ``key`` that authenticated."""
        with self._lock:
            failures = self._failures.get(key)
            if failures:
                failures.pop()

    def _drop_idle(self, now: float) -> None:
        self._failures = {k: f for k, f in self._failures.items() if f and f[-1] > now - self.window_s}
