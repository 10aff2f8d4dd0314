"""A carrier's calls in flight, each on a lane: an HTTP client keeping one connection alive.

Why lanes, not one client with a pool of ``max_concurrency`` connections: httpcore's pool
looks at every connection it holds each time a request starts and each time an answer is
closed (is it idle, has it expired: a socket poll for each idle one), and while deciding
whether to close an idle one it counts all of them again, so its bookkeeping grows with the
square of the connections held. At UPS's 64 calls in flight that was half the poll's CPU;
with httpx's default of 20 kept-alive connections it also closed most connections after one
answer and opened a new one (a TCP and, in production, a TLS handshake) for the next call.

A call takes a free lane for as long as its answer is being read, the most recently freed
first (its connection is the least likely to have expired), so a connection serves call
after call and each pool only ever looks at its one connection. There are never more lanes
than calls allowed in flight; one is opened only when every open one is busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

# one connection a lane; never a wait for the pool (the lane is already ours alone)
ONE_CONNECTION = httpx.Limits(max_connections=None, max_keepalive_connections=1)


class Lanes:
    """At most ``size`` calls at once, each with a client of its own; see the module docstring."""

    def __init__(self, size: int, open_client: Callable[[], httpx.AsyncClient]) -> None:
        self._slots = asyncio.Semaphore(max(1, size))
        self._open_client = open_client
        self._free: list[httpx.AsyncClient] = []
        self._opened: list[httpx.AsyncClient] = []
        self._closed = False

    async def take(self) -> httpx.AsyncClient:
        """Wait for a free slot and hold a lane's client; hand it back with ``give_back``.

        A pair of calls, not a context manager: this runs once per carrier call, and a
        generator-based context manager cost more than the rest of the lane's bookkeeping.
        """
        await self._slots.acquire()
        try:
            return self._free.pop() if self._free else self._open()
        except BaseException:
            self._slots.release()
            raise

    def give_back(self, client: httpx.AsyncClient) -> None:
        if not self._closed:
            self._free.append(client)
        self._slots.release()

    def _open(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        client = self._open_client()
        self._opened.append(client)
        return client

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close every lane's connection; later calls raise, as a closed httpx client does."""
        self._closed = True
        opened, self._opened, self._free = self._opened, [], []
        for client in opened:
            await client.aclose()
