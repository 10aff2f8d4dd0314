"""One request sent straight to the ASGI app, its body pulled chunk by chunk and counted.

``TestClient`` reads a streamed body whole before the app sees it, so it cannot show how much
of a body the app read. Here the app's ``receive`` hands out one chunk per call, and the
answer says how many body bytes the app asked for before it answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi.testclient import TestClient
from starlette.types import Message

MIB = 1024 * 1024


@dataclass
class Streamed:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    pulled: int = 0  # request body bytes the app took from the client

    def json(self) -> Any:
        return json.loads(self.body)


def zeros(total: int, *, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes in chunks of one reused buffer: a big body costs the test no memory."""
    block = b"0" * chunk
    sent = 0
    while sent < total:
        piece = block if total - sent >= chunk else block[: total - sent]
        sent += len(piece)
        yield piece


def send_streamed(
    client: TestClient,
    method: str,
    path: str,
    chunks: Iterable[bytes],
    *,
    headers: dict[str, str] | None = None,
    address: str = "203.0.113.7",
) -> Streamed:
    """Run one request on the app of ``client`` (inside its lifespan), from ``address``."""
    portal = client.portal
    assert portal is not None, "send inside 'with TestClient(app)': the app must be running"
    answer: Streamed = portal.call(
        _send, client.app, method, path, iter(chunks), headers or {}, address
    )
    return answer


async def _send(
    app: Any,
    method: str,
    path: str,
    chunks: Iterator[bytes],
    headers: dict[str, str],
    address: str,
) -> Streamed:
    answer = Streamed()
    finished = anyio.Event()
    ended = False

    async def receive() -> Message:
        nonlocal ended
        if ended:
            await finished.wait()
            return {"type": "http.disconnect"}
        chunk = next(chunks, None)
        if chunk is None:
            ended = True
            return {"type": "http.request", "body": b"", "more_body": False}
        answer.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")
            if not message.get("more_body", False):
                finished.set()

    path_only, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_only,
        "raw_path": path_only.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (address, 50123),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return answer
