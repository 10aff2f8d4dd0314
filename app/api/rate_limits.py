"""Counting for the request gate: requests per API key, failed authentications per client
address and per key prefix.

The ``limits`` library counts in a sliding window of 60 seconds (two counters per subject,
the previous minute's weighted by how much of it is still inside the window: constant memory
per key, where a log of every request would grow with the rate), in the storage
``RT_RATE_LIMIT_STORAGE`` names: ``memory://`` counts in this process (right for the single
process the service runs as by default), ``redis://host:6379`` in Redis, so that every replica
shares the counts. Not in PostgreSQL: a counter is a write per request, with a life of a
minute; Redis expires keys by itself and keeps that load off the database.

A storage that fails (Redis gone) lets requests through and logs it: the limits protect the
service, and must not take it down along with Redis.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import structlog
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from app.core.settings import Settings

log = structlog.get_logger("rate_limits")
WINDOW_SECONDS = 60
_REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
STORAGE_TIMEOUT_SECONDS = 1.0  # a Redis that does not answer must not hold requests


@dataclass(frozen=True, slots=True)
class Quota:
    """Where one API key stands after this request (IETF RateLimit header fields draft)."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w={WINDOW_SECONDS}",
        }


def storage_scheme(uri: str) -> str:
    return urlparse(uri).scheme.removeprefix("async+")


def open_storage(settings: Settings) -> Storage:
    """The async flavour of the storage ``RT_RATE_LIMIT_STORAGE`` names."""
    uri = settings.rate_limit_storage
    scheme = storage_scheme(uri)
    options: dict[str, float | str | bool] = {}
    if scheme in _REDIS_SCHEMES:
        options = {
            "implementation": "redispy",  # redis-py, which limits[redis] installs
            "key_prefix": settings.rate_limit_key_prefix,
            "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS,
            "socket_timeout": STORAGE_TIMEOUT_SECONDS,
        }
    async_uri = uri if uri.startswith("async+") else f"async+{uri}"
    storage = storage_from_string(async_uri, wrap_exceptions=True, **options)
    assert isinstance(storage, Storage)
    return storage


def key_prefix_subject(secret: str) -> str:
    """The first 12 characters of a presented key, hashed: no key material in the storage."""
    return "key-prefix:" + hashlib.sha256(secret[:12].encode()).hexdigest()[:24]


class RateLimits:
    """The two limits of the gate, over one storage."""

    def __init__(self, storage: Storage, *, per_key: int, auth_failures: int) -> None:
        self.storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._per_key: RateLimitItem | None = (
            RateLimitItemPerMinute(per_key, namespace="key") if per_key else None
        )
        self._failures: RateLimitItem | None = (
            RateLimitItemPerMinute(auth_failures, namespace="auth-failures")
            if auth_failures
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits | None:
        """None when both limits are off: then nothing is counted anywhere."""
        if not settings.rate_limit_per_minute and not settings.auth_failures_per_minute:
            return None
        return cls(
            open_storage(settings),
            per_key=settings.rate_limit_per_minute,
            auth_failures=settings.auth_failures_per_minute,
        )

    async def failures_wait(self, subjects: list[str]) -> int | None:
        """Seconds to wait when any subject used up its failed attempts; else None."""
        if self._failures is None:
            return None
        try:
            for subject in subjects:
                if not await self._limiter.test(self._failures, subject):
                    stats = await self._limiter.get_window_stats(self._failures, subject)
                    return _seconds_until(stats.reset_time)
        except StorageError as exc:
            _storage_failed(exc)
        return None

    async def count_failure(self, subjects: list[str]) -> None:
        if self._failures is None:
            return
        try:
            for subject in subjects:
                await self._limiter.hit(self._failures, subject)
        except StorageError as exc:
            _storage_failed(exc)

    async def take(self, api_key_id: str) -> Quota | None:
        """Count one request of this key; None when there is no per-key limit (or no storage)."""
        item = self._per_key
        if item is None:
            return None
        try:
            allowed = await self._limiter.hit(item, api_key_id)
            stats = await self._limiter.get_window_stats(item, api_key_id)
        except StorageError as exc:
            _storage_failed(exc)
            return None
        return Quota(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_seconds=_seconds_until(stats.reset_time, at_least=0),
        )

    async def aclose(self) -> None:
        """Close a Redis client's connections (they belong to the event loop ending now)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()


def _seconds_until(moment: float, *, at_least: int = 1) -> int:
    return max(at_least, math.ceil(moment - time.time()))


def _storage_failed(exc: StorageError) -> None:
    log.warning("rate-limit storage failed; request let through", error=repr(exc.storage_error))


def warn_if_unshared(settings: Settings) -> None:
    """Replicas on PostgreSQL each counting on their own would each allow the full rate."""
    counting = settings.rate_limit_per_minute or settings.auth_failures_per_minute
    if (
        counting
        and not settings.is_sqlite
        and storage_scheme(settings.rate_limit_storage) == ("memory")
    ):
        log.warning(
            "rate limits are counted in this process only (RT_RATE_LIMIT_STORAGE=memory://): "
            "with several API replicas set RT_RATE_LIMIT_STORAGE=redis://host:6379"
        )
