"""httpcore's network layer on plain asyncio transports, for the webhook sender.

httpcore reaches the network through a backend it is given (``network_backend``); its default
goes through anyio, whose stream ``send`` and ``receive`` each yield to the event loop and open
a cancel scope for the timeout. An attempt writes twice (headers, body) and reads once or
twice, and those hand-offs were a quarter of the dispatcher's CPU. Here a write goes straight
to the transport (waiting only when the kernel's buffer is full), and a read waits only when
nothing has arrived yet.

The protocol keeps what arrived, so "is the kept-alive connection still usable?" (httpcore
asks ``is_readable`` before reusing one) is answered from it: a receiver that closed the
connection, or sent bytes nobody asked for, makes the connection unusable.

Errors are httpcore's: ``ConnectError``/``ConnectTimeout``, ``ReadError``/``ReadTimeout``,
``WriteError``/``WriteTimeout``, as with its own backends.
"""

# httpcore's interface passes each operation its timeout:
# ruff: noqa: ASYNC109
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import httpcore

HIGH_WATER = 256 * 1024  # stop reading from the socket while this much waits to be read


# httpcore's names for what it asks a stream, and the transport's names for them
_TRANSPORT_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}


@contextmanager
def _mapped(timeout: type[Exception], other: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise timeout(str(exc) or "timed out") from exc
    except OSError as exc:  # ssl.SSLError and ConnectionError among them
        raise other(str(exc) or type(exc).__name__) from exc


class _Arrivals(asyncio.Protocol):
    """Keeps the bytes that arrived and wakes whoever waits for them or for the write buffer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.error: BaseException | None = None
        self._readable: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are no subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake_reader()
        return False  # close our side too: we never write after the receiver's EOF

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake_writer()

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._reading_paused and len(self.buffer) < HIGH_WATER and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def readable(self) -> None:
        if self.buffer or self.closed:
            return
        self._readable = asyncio.get_running_loop().create_future()
        try:
            await self._readable
        finally:
            self._readable = None

    async def drained(self) -> None:
        if self._drained is not None:
            await asyncio.shield(self._drained)

    def _wake_reader(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    def _wake_writer(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, arrivals: _Arrivals) -> None:
        self._transport = transport
        self._arrivals = arrivals

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        arrivals = self._arrivals
        if not arrivals.buffer and not arrivals.closed:
            with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
                async with asyncio.timeout(timeout):
                    await arrivals.readable()
        if arrivals.buffer:
            return arrivals.take(max_bytes)
        if arrivals.error is not None:
            raise httpcore.ReadError(str(arrivals.error) or type(arrivals.error).__name__)
        return b""  # the receiver closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            self._transport.write(buffer)
            async with asyncio.timeout(timeout):
                await self._arrivals.drained()

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                async with asyncio.timeout(timeout):
                    transport = await loop.start_tls(
                        self._transport,
                        self._arrivals,
                        ssl_context,
                        server_hostname=server_hostname,
                    )
        except BaseException:
            self._transport.abort()
            raise
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._arrivals.transport = transport
        return AsyncioStream(transport, self._arrivals)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return bool(self._arrivals.buffer) or self._arrivals.closed
        name = _TRANSPORT_INFO.get(info)
        return None if name is None else self._transport.get_extra_info(name)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connects with the running loop's ``create_connection`` (uvloop's, in the scheduler)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                transport, arrivals = await loop.create_connection(
                    _Arrivals,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                )
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(transport, arrivals)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
