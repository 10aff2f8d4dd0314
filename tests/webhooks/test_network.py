"""httpcore on plain asyncio transports (``app.webhooks.dispatch.network``), against real
servers on 127.0.0.1: plain TCP, TLS with a throw-away authority, and servers that misbehave."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpcore
import pytest
import trustme
import uvloop

from app.webhooks.dispatch.network import AsyncioBackend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head + await reader.readexactly(length)


def answering(*answers: bytes, then_close: bool = False) -> Handler:
    """A server that answers each request on a connection with the next of ``answers``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for answer in answers:
                await _read_request(reader)
                writer.write(answer)
                await writer.drain()
            if not then_close:
                await reader.read()  # keep the connection until the client closes it
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


@asynccontextmanager
async def serving(handle: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def pool(tls: ssl.SSLContext | None = None) -> httpcore.AsyncConnectionPool:
    return httpcore.AsyncConnectionPool(
        ssl_context=tls, max_connections=1, network_backend=AsyncioBackend()
    )


async def post(
    connections: httpcore.AsyncConnectionPool,
    url: str,
    *,
    seconds: float = 5.0,
    sni: str | None = None,
) -> tuple[int, bytes]:
    limits = dict.fromkeys(("connect", "read", "write", "pool"), seconds)
    extensions: dict[str, object] = {"timeout": limits}
    if sni:
        extensions["sni_hostname"] = sni
    response = await connections.request(
        "POST", url, content=b'{"type":"incident.opened"}', extensions=extensions
    )
    return response.status, response.content


def run(story: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """On uvloop, the loop the scheduler sends webhooks from, and on asyncio's own."""
    for runner in (uvloop.run, asyncio.run):
        runner(story())


def test_a_kept_alive_connection_carries_one_request_after_another() -> None:
    async def story() -> None:
        async with serving(answering(ANSWER, ANSWER, ANSWER)) as port, pool() as connections:
            answers = [await post(connections, f"http://127.0.0.1:{port}/hook") for _ in range(3)]
            assert answers == [(200, b"ok")] * 3
            assert len(connections.connections) == 1

    run(story)


def test_a_connection_the_receiver_closed_is_not_reused() -> None:
    async def story() -> None:
        async with serving(answering(ANSWER, then_close=True)) as port, pool() as connections:
            assert await post(connections, f"http://127.0.0.1:{port}/hook") == (200, b"ok")
            await asyncio.sleep(0.05)  # the receiver's FIN arrives
            assert await post(connections, f"http://127.0.0.1:{port}/hook") == (200, b"ok")

    run(story)


def test_a_receiver_that_never_answers_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async def story() -> None:
        async with serving(silent) as port, pool() as connections:
            with pytest.raises(httpcore.ReadTimeout):
                await post(connections, f"http://127.0.0.1:{port}/hook", seconds=0.2)

    run(story)


def test_a_closed_port_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused

        async def story() -> None:
            async with pool() as connections:
                with pytest.raises(httpcore.ConnectError):
                    await post(connections, f"http://127.0.0.1:{port}/hook")

        run(story)


def test_a_long_answer_is_read_whole_however_the_kernel_splits_it() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, past the point where reading pauses
    long_answer = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body

    async def story() -> None:
        async with serving(answering(long_answer)) as port, pool() as connections:
            assert await post(connections, f"http://127.0.0.1:{port}/hook") == (200, body)

    run(story)


def test_tls_to_the_checked_address_verifies_the_host_name_it_was_sent_for() -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("hooks.example.com")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    authority.configure_trust(client_tls)

    async def story() -> None:
        async with serving(answering(ANSWER, ANSWER), tls=server_tls) as port:
            async with pool(client_tls) as connections:
                url = f"https://127.0.0.1:{port}/hook"
                assert await post(connections, url, sni="hooks.example.com") == (200, b"ok")
            async with pool(client_tls) as connections:
                with pytest.raises(httpcore.ConnectError, match=r"(?i)certificate"):
                    await post(connections, url, sni="other.example.com")

    run(story)
