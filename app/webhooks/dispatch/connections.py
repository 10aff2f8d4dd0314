"""Kept-alive connections to the receivers, per checked target, reused from pass to pass.

Each connection is a single-connection httpcore pool. A request borrows an idle one (the most
recently used: a few warm connections carry a light load), or opens one while fewer than the
limit exist; past the limit (more in flight than the dispatcher allows) it queues on one of
them. httpcore's own multi-connection pool scans every connection on each request and each
release, which cost the dispatcher a tenth of its CPU at 64 connections.

Connections are keyed by (scheme, host name, checked address, port), so a TLS connection
made for one name never carries another name's request. A target nobody used for
``IDLE_SECONDS`` is closed by the next sweep, so a scheduler that runs for months does not
keep sockets to endpoints long gone.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpcore

from app.webhooks.dispatch.network import AsyncioBackend
from app.webhooks.endpoints.ssrf import Target

IDLE_SECONDS = 30.0  # a kept-alive connection (and a target's slots) unused this long is closed
SWEEP_EVERY = 10.0

Key = tuple[bytes, str, str, int | None]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: its pool key, the request URL (the checked address) and the names
    it carries (``Host``, and the TLS name the certificate must match)."""

    key: Key
    url: httpcore.URL
    host_header: bytes
    sni_hostname: str | None

    @classmethod
    def to(cls, target: Target) -> Route:
        url = target.request_url
        return cls(
            key=(url.raw_scheme, target.host, str(target.address), url.port),
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            host_header=target.host_header.encode("ascii"),
            sni_hostname=target.sni_hostname,
        )


@dataclass
class _Slots:
    every: list[httpcore.AsyncConnectionPool] = field(default_factory=list)
    idle: list[httpcore.AsyncConnectionPool] = field(default_factory=list)
    used_at: float = 0.0
    turn: int = 0


class Connections:
    def __init__(self, *, tls: ssl.SSLContext, limit: int) -> None:
        self.tls = tls
        self.limit = max(1, limit)
        self.network = AsyncioBackend()
        self._slots: dict[Key, _Slots] = {}
        self._swept = time.monotonic()

    def _open(self) -> httpcore.AsyncConnectionPool:
        return httpcore.AsyncConnectionPool(
            ssl_context=self.tls,
            max_connections=1,
            keepalive_expiry=IDLE_SECONDS,
            network_backend=self.network,
        )

    @asynccontextmanager
    async def borrow(self, route: Route) -> AsyncIterator[httpcore.AsyncConnectionPool]:
        slots = self._slots.get(route.key)
        if slots is None:
            slots = self._slots[route.key] = _Slots()
        slots.used_at = time.monotonic()
        if slots.idle:
            pool = slots.idle.pop()
        elif len(slots.every) < self.limit:
            pool = self._open()
            slots.every.append(pool)
        else:
            slots.turn += 1
            pool = slots.every[slots.turn % len(slots.every)]
        try:
            yield pool
        finally:
            if pool not in slots.idle:
                slots.idle.append(pool)

    async def sweep(self) -> None:
        """Close the targets nobody used for ``IDLE_SECONDS`` (at most every ``SWEEP_EVERY``)."""
        now = time.monotonic()
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        stale = [
            key
            for key, slots in self._slots.items()
            if now - slots.used_at > IDLE_SECONDS and len(slots.idle) == len(slots.every)
        ]
        for key in stale:
            for pool in self._slots.pop(key).every:
                await pool.aclose()

    async def aclose(self) -> None:
        slots, self._slots = list(self._slots.values()), {}
        for target in slots:
            for pool in target.every:
                await pool.aclose()
