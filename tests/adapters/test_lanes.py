"""Lanes: a carrier's calls in flight, each on a client of its own that keeps its connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters._http import NO_RETRY, CarrierHttpClient
from adapters._lanes import Lanes
from adapters.base import Capabilities


def _counting_lanes(size: int) -> tuple[Lanes, list[httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []

    def open_client() -> httpx.AsyncClient:
        opened.append(
            httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
        )
        return opened[-1]

    return Lanes(size, open_client), opened


@pytest.mark.anyio
async def test_calls_one_after_another_share_one_lane() -> None:
    lanes, opened = _counting_lanes(8)
    for _ in range(5):
        lanes.give_back(await lanes.take())
    assert len(opened) == 1
    await lanes.aclose()


@pytest.mark.anyio
async def test_a_lane_opens_only_when_every_open_one_is_busy_and_never_past_the_limit() -> None:
    lanes, opened = _counting_lanes(3)
    busy = 0
    most_busy = 0

    async def call() -> httpx.AsyncClient:
        nonlocal busy, most_busy
        client = await lanes.take()
        busy += 1
        most_busy = max(most_busy, busy)
        await asyncio.sleep(0.01)
        busy -= 1
        lanes.give_back(client)
        return client

    used = await asyncio.gather(*(call() for _ in range(10)))
    assert (len(opened), most_busy) == (3, 3)
    assert {id(c) for c in used} == {id(c) for c in opened}
    await lanes.aclose()


@pytest.mark.anyio
async def test_after_closing_every_lane_is_closed_and_a_call_raises() -> None:
    lanes, opened = _counting_lanes(2)
    lanes.give_back(await lanes.take())
    await lanes.aclose()
    assert lanes.is_closed
    assert all(c.is_closed for c in opened)
    with pytest.raises(RuntimeError, match="closed"):
        await lanes.take()


@pytest.fixture
async def keep_alive_server() -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTP/1.1 server on 127.0.0.1 that answers ``{}`` and counts the connections made."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(0.05)  # like a carrier: answers come back spread out
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: 2\r\n\r\n{}"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", connections


@pytest.mark.anyio
async def test_calls_in_flight_keep_their_connections_from_one_round_to_the_next(
    keep_alive_server: tuple[str, list[int]],
) -> None:
    url, connections = keep_alive_server
    http = CarrierHttpClient(
        "ups", url, Capabilities(batch_size=1, requests_per_second=0, max_concurrency=32), NO_RETRY
    )
    for _ in range(4):
        answers = await asyncio.gather(*(http.request("GET", "/track") for _ in range(32)))
        assert all(a.json() == {} for a in answers)
    await http.aclose()
    assert len(connections) <= 32  # one a lane, never one a call (128 calls)
