"""Apps for benchmarks that measure server time: each answer says how long the app took.

``ServerTiming`` wraps an ASGI app and adds ``Server-Timing: app;dur=<ms>`` to every answer:
the time from the request reaching the app to the answer's first byte (an HTML page is
rendered whole before that). The client's own round trip adds the HTTP hop on top; the
benchmark reports both. Only the benchmark's server runs this wrapper, never the service.
"""

from __future__ import annotations

import re
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from app.main import create_app as create_service
from bench.bare_app import create_app as create_bare

_DURATION = re.compile(r"\bapp;dur=([\d.]+)")


class ServerTiming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                timing = (b"server-timing", b"app;dur=%.3f" % elapsed_ms)
                message = {**message, "headers": [*message.get("headers", []), timing]}
            await send(message)

        await self.app(scope, receive, timed)


def service() -> ASGIApp:
    """``uvicorn --factory bench.server_timing:service``: the service, settings from the env."""
    return ServerTiming(create_service())


def bare() -> ASGIApp:
    """The floor: FastAPI answering a constant, timed the same way."""
    return ServerTiming(create_bare())


def server_ms(response: httpx.Response) -> float:
    found = _DURATION.search(response.headers.get("server-timing", ""))
    if found is None:
        raise RuntimeError(f"{response.request.url}: no Server-Timing header in the answer")
    return float(found.group(1))
