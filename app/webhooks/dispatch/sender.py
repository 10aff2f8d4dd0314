"""One webhook attempt: check the URL again, sign, POST to the checked address, judge the answer.

Never raises for the receiver's faults: a refused URL, a timeout, a reset connection or an
error status all come back as an ``Outcome`` to record. Redirects are not followed (a 3xx is a
failure), proxies from the environment are ignored, and at most 2 KB of the answer is read.
Connections are pooled per (host name, checked address), so a TLS connection made for one
name never carries another name's request.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import TracebackType

import anyio
import httpx

from app.core.settings import Settings
from app.webhooks.dispatch.sign import signed_headers
from app.webhooks.endpoints.ssrf import (
    Policy,
    Resolver,
    Target,
    UrlRefused,
    needs_resolution,
    resolve_target,
    system_resolver,
)

EXCERPT_BYTES = 2048
POOL_SIZE = 4
USER_AGENT = "ResolutionTracker-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Message:
    """A claimed delivery, ready to send."""

    delivery_id: int
    endpoint_id: uuid.UUID
    parcel_id: uuid.UUID | None
    occurred_at: datetime
    url: str
    msg_id: str
    body: bytes
    secrets: tuple[str, ...] = field(repr=False)  # never in a log line or a traceback
    attempts: int
    lease_until: datetime
    unsendable: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    attempted_at: datetime
    webhook_timestamp: int
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        """A 2xx, complete within the timeout: the only answer that counts as delivered."""
        code = self.status_code
        return self.error is None and code is not None and 200 <= code < 300


@lru_cache(maxsize=1)
def default_tls() -> ssl.SSLContext:
    """The system's CA bundle, loaded once per process (each load costs ~20 ms of CPU)."""
    return ssl.create_default_context()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:500]


class Sender:
    """Sends messages; use as an async context manager so its connections are closed."""

    def __init__(
        self,
        *,
        policy: Policy,
        timeout: float,
        clock: Callable[[], datetime],
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 64,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.clock = clock
        self.resolver = resolver
        self.verify = default_tls() if verify is True else verify
        self.max_connections = max_connections
        self._clients: dict[tuple[str, str, str, int | None], list[httpx.AsyncClient]] = {}
        self._turn = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime]) -> Sender:
        return cls(
            policy=Policy.from_settings(settings),
            timeout=settings.webhook_timeout_seconds,
            clock=clock,
            max_connections=settings.webhook_concurrency,
        )

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shards, self._clients = list(self._clients.values()), {}
        for clients in shards:
            for client in clients:
                await client.aclose()

    def _client_for(self, target: Target) -> httpx.AsyncClient:
        """One of a few small pools for this (name, address): httpcore scans every connection
        of a pool on each request, so several pools of ``POOL_SIZE`` cost far less CPU."""
        key = (target.url.scheme, target.host, str(target.address), target.url.port)
        shards = self._clients.get(key)
        if shards is None:
            count = max(1, -(-self.max_connections // POOL_SIZE))
            shards = [
                httpx.AsyncClient(
                    follow_redirects=False,
                    trust_env=False,
                    verify=self.verify,
                    timeout=httpx.Timeout(self.timeout),
                    limits=httpx.Limits(max_connections=POOL_SIZE),
                )
                for _ in range(count)
            ]
            self._clients[key] = shards
        self._turn += 1
        return shards[self._turn % len(shards)]

    async def _post(self, message: Message, timestamp: int) -> httpx.Response:
        if needs_resolution(message.url):  # DNS blocks: off the event loop
            target = await anyio.to_thread.run_sync(
                resolve_target, message.url, self.policy, self.resolver, abandon_on_cancel=True
            )
        else:
            target = resolve_target(message.url, self.policy, self.resolver)
        headers = {
            **signed_headers(
                message.secrets, msg_id=message.msg_id, timestamp=timestamp, body=message.body
            ),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "accept-encoding": "identity",  # the excerpt is read raw: no decompression
            "host": target.host_header,
        }
        client = self._client_for(target)
        sni = target.sni_hostname
        request = client.build_request(
            "POST",
            target.request_url,
            content=message.body,
            headers=headers,
            extensions={"sni_hostname": sni} if sni else None,
        )
        return await client.send(request, stream=True)

    async def send(self, message: Message) -> Outcome:
        attempted_at = self.clock()
        timestamp = int(attempted_at.timestamp())
        started = time.monotonic()
        status, error, excerpt, retry_after = None, message.unsendable, None, None
        if error is None:
            try:
                with anyio.fail_after(self.timeout):
                    response = await self._post(message, timestamp)
                    try:
                        status = response.status_code
                        retry_after = response.headers.get("retry-after")
                        excerpt = await _excerpt(response)
                    finally:
                        await response.aclose()
            except UrlRefused as exc:
                error = f"refused: {exc}"[:500]
            except TimeoutError:
                error = f"no answer within {self.timeout:g} s"
            except (httpx.HTTPError, OSError) as exc:
                error = _describe(exc)
        if status is not None and 300 <= status < 400:
            error = f"redirect ({status}) not followed"
        elif status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        return Outcome(
            attempted_at=attempted_at,
            webhook_timestamp=timestamp,
            latency_ms=round((time.monotonic() - started) * 1000),
            status_code=status,
            error=error,
            response_excerpt=excerpt,
            retry_after=retry_after,
        )


async def _excerpt(response: httpx.Response) -> str:
    chunks = bytearray()
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= EXCERPT_BYTES:
            break
    return bytes(chunks[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
