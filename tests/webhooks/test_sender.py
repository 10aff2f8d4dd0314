"""The sender against real servers on 127.0.0.1: TLS with a throw-away authority, the names a
request carries, kept-alive connections and receivers that close or misbehave."""

from __future__ import annotations

import asyncio
import base64
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import trustme
import uvloop

from app.db.types import utcnow
from app.webhooks.dispatch import connections
from app.webhooks.dispatch.sender import Message, Outcome, Sender
from app.webhooks.endpoints.ssrf import Policy
from tests.webhooks.conftest import FakeDns

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


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


class Server:
    """Answers each request, on whichever connection, with the next of ``answers``; keeps what
    it was sent. ``then_close``: close each connection after one answer."""

    def __init__(self, *answers: bytes, then_close: bool = False) -> None:
        self.answers = iter(answers)
        self.then_close = then_close
        self.requests: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while not reader.at_eof():
                self.requests.append(await _read_request(reader))
                writer.write(next(self.answers))
                await writer.drain()
                if self.then_close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, StopIteration):
            pass
        finally:
            writer.close()

    def header(self, index: int, name: bytes) -> bytes:
        for line in self.requests[index].split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                return value.strip()
        raise KeyError(name)


@asynccontextmanager
async def serving(server: Server, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield listening.sockets[0].getsockname()[1]
    finally:
        listening.close()


def sender(port: int, *, tls: ssl.SSLContext | None = None, timeout: float = 5.0) -> Sender:
    dns = FakeDns({"hooks.example.com": ["127.0.0.1"], "other.example.com": ["127.0.0.1"]})
    policy = Policy(allow_http=True, allow_private_networks=True, allowed_ports=frozenset({port}))
    return Sender(policy=policy, timeout=timeout, clock=utcnow, resolver=dns, verify=tls or True)


def message(url: str) -> Message:
    now = utcnow()
    return Message(
        delivery_id=1,
        endpoint_id=uuid.uuid4(),
        parcel_id=None,
        occurred_at=now,
        url=url,
        msg_id=f"evt_{uuid.uuid4().hex}",
        body=b'{"type":"incident.opened"}',
        secrets=(SECRET,),
        attempts=0,
        lease_until=now + timedelta(seconds=60),
    )


def run(story: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """On uvloop, the loop the scheduler sends webhooks from, and on asyncio's own."""
    for runner in (uvloop.run, asyncio.run):
        runner(story())


def test_tls_to_the_checked_address_verifies_the_host_name_the_message_was_sent_for() -> None:
    """Both names resolve to the same address; a connection made (and verified) for the first
    never carries the second's request, which fails its own certificate check."""
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("hooks.example.com").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    authority.configure_trust(client_tls)

    async def story() -> None:
        server = Server(ANSWER, ANSWER)
        async with serving(server, tls=server_tls) as port, sender(port, tls=client_tls) as s:
            good = await s.send(message(f"https://hooks.example.com:{port}/hook"))
            other = await s.send(message(f"https://other.example.com:{port}/hook"))
        assert good.succeeded, good
        assert (good.status_code, good.response_excerpt) == (200, "ok")
        assert other.status_code is None
        assert other.error is not None
        assert "certificate" in other.error.lower(), other.error
        assert len(server.requests) == 1

    run(story)


def test_the_request_goes_to_the_checked_address_and_names_the_host_it_was_meant_for() -> None:

    async def story() -> None:
        server = Server(ANSWER)
        async with serving(server) as port, sender(port) as s:
            outcome = await s.send(message(f"http://hooks.example.com:{port}/hook?x=1"))
            assert outcome.succeeded, outcome
            assert server.header(0, b"host") == f"hooks.example.com:{port}".encode()
        assert server.requests[0].startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
        assert server.header(0, b"webhook-signature").startswith(b"v1,")
        assert server.header(0, b"accept-encoding") == b"identity"
        assert server.header(0, b"content-type") == b"application/json"

    run(story)


def test_a_kept_alive_connection_carries_one_message_after_another() -> None:

    async def story() -> None:
        server = Server(ANSWER, ANSWER, ANSWER)
        async with serving(server) as port, sender(port) as s:
            url = f"http://127.0.0.1:{port}/hook"
            outcomes = [await s.send(message(url)) for _ in range(3)]
        assert [o.status_code for o in outcomes] == [200, 200, 200]
        assert server.connections == 1

    run(story)


def test_a_connection_the_receiver_closed_is_not_reused() -> None:

    async def story() -> None:
        server = Server(ANSWER, ANSWER, then_close=True)
        async with serving(server) as port, sender(port) as s:
            url = f"http://127.0.0.1:{port}/hook"
            first = await s.send(message(url))
            await asyncio.sleep(0.05)  # the receiver's FIN arrives
            second = await s.send(message(url))
        assert (first.status_code, second.status_code) == (200, 200)
        assert server.connections == 2

    run(story)


def test_an_answer_longer_than_the_excerpt_is_cut_and_its_connection_closed() -> None:
    body = b"x" * (1024 * 1024)  # past what the client buffers before it stops reading

    async def story() -> None:
        server = Server(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body, ANSWER)
        async with serving(server) as port, sender(port) as s:
            url = f"http://127.0.0.1:{port}/hook"
            long = await s.send(message(url))
            short = await s.send(message(url))
        assert long.succeeded
        assert long.response_excerpt == "x" * 2048
        assert short.response_excerpt == "ok"
        assert server.connections == 2  # the unread rest was never read: a new connection

    run(story)


def test_a_receiver_that_never_answers_is_a_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async def story() -> None:
        listening = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        try:
            async with sender(port, timeout=0.2) as s:
                outcome: Outcome = await s.send(message(f"http://127.0.0.1:{port}/hook"))
        finally:
            listening.close()
        assert outcome.error == "no answer within 0.2 s"

    run(story)


def test_a_target_nobody_used_for_a_while_is_closed_by_the_next_sweep(
    monkeypatch: Any,
) -> None:

    async def story() -> None:
        server = Server(ANSWER)
        async with serving(server) as port, sender(port) as s:
            await s.send(message(f"http://127.0.0.1:{port}/hook"))
            assert s.connections.open_targets == 1
            monkeypatch.setattr(connections, "IDLE_SECONDS", 0.0)
            monkeypatch.setattr(connections, "SWEEP_EVERY", 0.0)
            await s.connections.sweep()
            assert s.connections.open_targets == 0

    uvloop.run(story())
