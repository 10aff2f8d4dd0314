"""Kept-alive connections to the receivers, per checked target, reused from pass to pass.

Each target (scheme, host name, checked address, port) has an aiohttp session of its own, whose
connector keeps up to the dispatcher's concurrency of connections open. A session per target,
rather than one for all, is what keeps a TLS connection made for one name from ever carrying
another name's request: the sender always connects to the checked address, never to the
name, so two names on one address are two targets, whatever aiohttp's own pool key holds.

The sessions keep no cookies, ignore proxies from the environment and follow no redirects (the
sender asks for none). A target nobody used for ``IDLE_SECONDS`` is closed by the next sweep, so
a scheduler that runs for months does not keep sockets to endpoints long gone.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from yarl import URL

from app.webhooks.endpoints.ssrf import Target

IDLE_SECONDS = 30.0  # a kept-alive connection (and a target's session) unused this long is closed
SWEEP_EVERY = 10.0

Key = tuple[str, str, str, int | None]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: its pool key, the request URL (the checked address) and the names
    it carries (``Host``, and the TLS name the certificate must match)."""

    key: Key
    url: URL
    host_header: str
    sni_hostname: str | None

    @classmethod
    def to(cls, target: Target) -> Route:
        url = target.request_url
        return cls(
            key=(url.scheme, target.host, str(target.address), url.port),
            url=URL(str(url), encoded=True),
            host_header=target.host_header,
            sni_hostname=target.sni_hostname,
        )


@dataclass
class _Target:
    session: aiohttp.ClientSession
    used_at: float
    in_flight: int = 0


class Connections:
    def __init__(self, *, tls: ssl.SSLContext, limit: int) -> None:
        self.tls = tls
        self.limit = max(1, limit)
        self._targets: dict[Key, _Target] = {}
        self._swept = time.monotonic()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self.tls,
            limit=self.limit,
            limit_per_host=0,
            keepalive_timeout=IDLE_SECONDS,
            use_dns_cache=False,  # the URL names the checked address: nothing is resolved
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # the excerpt is kept raw; we ask for identity anyway
            trust_env=False,
        )

    @asynccontextmanager
    async def borrow(self, route: Route) -> AsyncIterator[aiohttp.ClientSession]:
        """The session that carries requests to this route's target (opened on first use);
        a sweep leaves it open while a request borrowed it."""
        now = time.monotonic()
        target = self._targets.get(route.key)
        if target is None:
            target = self._targets[route.key] = _Target(self._open(), now)
        target.used_at = now
        target.in_flight += 1
        try:
            yield target.session
        finally:
            target.in_flight -= 1
            target.used_at = time.monotonic()

    @property
    def open_targets(self) -> int:
        return len(self._targets)

    async def sweep(self) -> None:
        """Close the targets nobody used for ``IDLE_SECONDS`` (at most every ``SWEEP_EVERY``)."""
        now = time.monotonic()
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        stale = [
            key
            for key, target in self._targets.items()
            if not target.in_flight and now - target.used_at > IDLE_SECONDS
        ]
        for key in stale:
            await self._targets.pop(key).session.close()

    async def aclose(self) -> None:
        targets, self._targets = list(self._targets.values()), {}
        for target in targets:
            await target.session.close()
