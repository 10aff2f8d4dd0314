"""How every adapter talks HTTP: timeouts, bounded retries, pacing, a circuit breaker.

Carriers are slow, rate-limited and sometimes down. One client per carrier keeps that
carrier's behaviour in one place so an outage at one never slows the others:

- explicit connect/read timeouts; responses capped at ``max_body_bytes`` (untrusted input);
- tenacity retries with full-jitter exponential backoff on connect errors, timeouts, 408,
  429 and 5xx, always bounded by ``max_attempts``; ``Retry-After`` (seconds or HTTP date,
  capped) replaces the backoff when the carrier sends one; other 4xx are never retried. A 429
  or 503 asking for longer than ``retry_after_cap`` (a daily quota answering "tomorrow") is
  not retried at all: ``CarrierRateLimited`` is raised at once with the full wait;
- a concurrency limit and a requests-per-second pace from the adapter's ``Capabilities``,
  plus an in-process daily quota (reset at UTC midnight) when the carrier documents one;
- a circuit breaker: after ``breaker_threshold`` whole-call failures in a row the carrier is
  not called for ``breaker_reset`` seconds, then a trial call closes or reopens it.

What counts as a success (resets the breaker, sets ``last_success_at``): a 2xx, or a 404 the
adapter accepted (the carrier answering "no such number" is a working carrier). Other statuses
in ``accept_statuses`` (a per-number 400, a 401 the adapter renews its token for) are handed
back untouched: they say nothing either way about the carrier's health. An adapter that finds a
failure inside an accepted answer (17TRACK's errors in HTTP 200) reports it with
``record_failure``.

Whole-call failures raised by ``request`` (the tree of ``adapters.base``)::

    CarrierError                  another 4xx not in ``accept_statuses``
    ├── CarrierAuthError          401/403 not in ``accept_statuses``
    ├── CarrierRateLimited        429 after retries, over-cap Retry-After, daily quota used
    ├── CarrierUnavailable        connect errors, timeouts (cause kept), 5xx after retries,
    │                             breaker open
    └── CarrierMalformedResponse  body over ``max_body_bytes``; ``load_json`` on non-JSON
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from http.cookiejar import CookieJar
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from adapters._breaker import CircuitBreaker
from adapters._lanes import ONE_CONNECTION, Lanes
from adapters.base import (
    Capabilities,
    CarrierAuthError,
    CarrierError,
    CarrierHealth,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
)

logger = logging.getLogger("adapters.http")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# statuses whose Retry-After may ask for more than we wait in-call (RFC 9110 §10.2.3)
_WAIT_STATUSES = frozenset({429, 503})
_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """Timeouts, retry bounds and breaker thresholds; tests use ``NO_RETRY``."""

    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 60.0
    max_body_bytes: int = 5_000_000
    breaker_threshold: int = 5
    breaker_reset: float = 30.0


NO_RETRY = HttpPolicy(max_attempts=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(
    value: str | None, *, now: datetime | None = None, cap: float = 60.0
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped.

    None when the header is absent or unreadable (the caller falls back to backoff); a date
    already past is 0. ``cap=math.inf`` gives the carrier's full wait.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or _utcnow())).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), cap)


def load_json(carrier: str, response: httpx.Response) -> Any:
    """The body as JSON, or a typed error with the raw body logged (never a crash)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raw = response.content[:4096].decode("utf-8", "replace")
        logger.warning(
            "malformed carrier response",
            extra={"carrier": carrier, "status": response.status_code, "raw": raw},
        )
        raise CarrierMalformedResponse(carrier, f"body is not JSON: {exc}", raw) from exc


class _Retryable(Exception):
    """One attempt failed in a way worth retrying; carries what the next wait needs."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.timed_out = False


class CarrierHttpClient:
    """A carrier's HTTP connection with its limits; see the module docstring.

    ``sleep`` and ``clock`` (monotonic seconds: pacing, backoff, breaker) and ``now`` (UTC wall
    time: health, daily quota, Retry-After dates) are injectable so tests never really wait.
    """

    def __init__(
        self,
        carrier: str,
        base_url: str,
        capabilities: Capabilities,
        policy: HttpPolicy | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.carrier = carrier
        self.capabilities = capabilities
        self.policy = policy or HttpPolicy()
        self._sleep, self._clock, self._now = sleep, clock, now
        self._base_url, self._transport = base_url, transport
        self._tls: ssl.SSLContext | None = None  # one for every lane: loading CAs is slow
        self._cookies = CookieJar()  # one jar, as one client had: a cookie set is sent on
        self._lanes = Lanes(capabilities.max_concurrency, self._open_client)
        self._pace_lock = asyncio.Lock()
        self._next_slot = 0.0
        self._quota_day = now().date()
        self._quota_used = 0
        self.breaker = CircuitBreaker(
            self.policy.breaker_threshold, self.policy.breaker_reset, clock
        )
        self._health = CarrierHealth()

    def health(self) -> CarrierHealth:
        self._health.breaker_state = self.breaker.state
        return self._health

    def record_failure(self, message: str, *, outage: bool = False) -> None:
        """Show a failure in ``health()``: for errors an adapter finds in an accepted answer.

        ``outage``: the answer says the carrier itself is failing (17TRACK's internal error
        inside HTTP 200), so it counts towards the circuit breaker like a 5xx would.
        """
        self._health.last_error_at = self._now()
        self._health.last_error = message
        if outage:
            self.breaker.failed()

    @property
    def is_closed(self) -> bool:
        return self._lanes.is_closed

    async def aclose(self) -> None:
        await self._lanes.aclose()

    def _open_client(self) -> httpx.AsyncClient:
        """A lane's client (``adapters._lanes``): the same settings on every lane."""
        if self._transport is None and self._tls is None:
            self._tls = httpx.create_ssl_context()
        return httpx.AsyncClient(
            base_url=self._base_url,
            transport=self._transport,
            verify=self._tls or True,
            cookies=self._cookies,
            limits=ONE_CONNECTION,
            timeout=httpx.Timeout(self.policy.timeout, connect=self.policy.connect_timeout),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "resolution-tracker/0.1"},
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        accept_statuses: Collection[int] = (),
    ) -> httpx.Response:
        """Send with retries; return a 2xx or accepted response, else raise a CarrierError."""
        if not self.breaker.allow():
            raise CarrierUnavailable(self.carrier, "circuit breaker open after repeated failures")
        send = partial(self._send_once, method, path, params, headers, json, data, accept_statuses)
        try:
            response = await send()
        except _Retryable as exc:
            response = await self._retry(exc, send)
        return self._judge(response, accept_statuses)

    async def _retry(
        self, failed: _Retryable, send: Callable[[], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        """Tenacity's retries after a failed first attempt, the first replayed to it.

        Tenacity judges the first attempt's failure as if it had made the call itself (its
        wait, its stop), so the retries are exactly tenacity's; most calls succeed at once
        and never pay for setting it up.
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.policy.max_attempts)),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        first: list[_Retryable] = [failed]
        try:
            async for attempt in retrying:
                with attempt:
                    if first:
                        raise first.pop()
                    response = await send()
        except _Retryable as exc:
            # keep an httpx.TimeoutException as the cause: the API answers 504 for it
            raise self._exhausted(exc) from (exc.__cause__ if exc.timed_out else None)
        return response

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        ceiling = min(
            self.policy.backoff_max, self.policy.backoff_base * 2 ** (state.attempt_number - 1)
        )
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security

    async def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: Mapping[str, Any] | None,
        accept_statuses: Collection[int],
    ) -> httpx.Response:
        self._take_quota()  # per attempt: the carrier counts every call, retries included
        client = await self._lanes.take()
        try:
            await self._pace()
            request = client.build_request(
                method, path, params=params, headers=headers, json=json_body, data=data
            )
            try:
                response = await client.send(request, stream=True)
                try:
                    body = await self._read_capped(response)
                finally:
                    await response.aclose()
            except httpx.TimeoutException as exc:
                retryable = _Retryable(f"timed out: {type(exc).__name__}")
                retryable.timed_out = True
                raise retryable from exc
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed: {exc or type(exc).__name__}") from exc
        finally:
            self._lanes.give_back(client)
        status = response.status_code
        if status in RETRYABLE_STATUSES and status not in accept_statuses:
            raise self._retry_or_give_up(status, response.headers.get("Retry-After"))
        headers_out = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
        }
        return httpx.Response(status, headers=headers_out, content=body, request=request)

    def _retry_or_give_up(self, status: int, retry_after: str | None) -> Exception:
        """A retryable status becomes ``_Retryable``, unless the carrier asked for too long."""
        cap = self.policy.retry_after_cap
        asked = parse_retry_after(retry_after, now=self._now(), cap=math.inf)
        if asked is not None and asked > cap and status in _WAIT_STATUSES:
            message = f"HTTP {status} asking to wait {asked:.0f} s (over our {cap:.0f} s cap)"
            self.record_failure(message)
            return CarrierRateLimited(self.carrier, message, retry_after=asked)
        wait = None if asked is None else min(asked, cap)
        return _Retryable(f"HTTP {status}", status=status, retry_after=wait)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        limit = self.policy.max_body_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            self.record_failure(f"body of {declared} bytes over {limit}")
            raise CarrierMalformedResponse(self.carrier, f"body of {declared} bytes over {limit}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                self.record_failure(f"body over {limit} bytes")
                raise CarrierMalformedResponse(self.carrier, f"body over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _pace(self) -> None:
        rate = self.capabilities.requests_per_second
        if rate <= 0:
            return
        async with self._pace_lock:
            now = self._clock()
            wait = self._next_slot - now
            if wait > 0:
                await self._sleep(wait)
            self._next_slot = max(now, self._next_slot) + 1.0 / rate

    def _take_quota(self) -> None:
        quota = self.capabilities.daily_quota
        if quota is None:
            return
        now = self._now()
        if now.date() != self._quota_day:
            self._quota_day, self._quota_used = now.date(), 0
        if self._quota_used >= quota:
            midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
            raise CarrierRateLimited(
                self.carrier,
                f"daily quota of {quota} calls used",
                retry_after=(midnight - now).total_seconds(),
            )
        self._quota_used += 1

    def _exhausted(self, exc: _Retryable) -> CarrierError:
        self.record_failure(exc.reason)
        if exc.status == 429:
            return CarrierRateLimited(self.carrier, "rate limited (HTTP 429)", exc.retry_after)
        self.breaker.failed()
        return CarrierUnavailable(self.carrier, exc.reason)

    def _judge(self, response: httpx.Response, accept_statuses: Collection[int]) -> httpx.Response:
        status = response.status_code
        if 200 <= status < 300 or (status == 404 and status in accept_statuses):
            self.breaker.succeeded()
            self._health.last_success_at = self._now()
            return response
        if status in accept_statuses:
            return response  # the adapter reads it; it tells nothing of the carrier's health
        snippet = response.content[:300].decode("utf-8", "replace")
        self.record_failure(f"HTTP {status}")
        if status in (401, 403):
            raise CarrierAuthError(self.carrier, f"credentials refused (HTTP {status})")
        raise CarrierError(self.carrier, f"request refused (HTTP {status}): {snippet}")
