"""An unexpected exception is a complete 500 problem+json, logged, on a connection that lives on.

Starlette's outermost middleware sends the 500 and raises the exception again, and uvicorn
closes a connection whose application raised: the next request a client sent on that keep-alive
connection was reset (9 times in 10). Checked on a real uvicorn over one raw socket, so a
closed connection cannot hide behind a client that quietly opens a new one.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import h11
import pytest
import uvicorn
from fastapi import FastAPI, Response
from starlette.background import BackgroundTask

ROUNDS = 10


class Boom(RuntimeError):
    pass


def _raise() -> None:
    raise Boom("a bug in a handler")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class KeepAliveConnection:
    """One TCP connection speaking HTTP/1.1 with h11; fails if the server closes it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.h11 = h11.Connection(h11.CLIENT)

    def get(self, path: str) -> Answer:
        if self.h11.our_state is h11.DONE:
            self.h11.start_next_cycle()
        request = h11.Request(method="GET", target=path, headers=[("Host", "tracker.test")])
        self.sock.sendall(self.h11.send(request) + self.h11.send(h11.EndOfMessage()))
        status, headers, body = 0, {}, b""
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(self.sock.recv(65536))  # b"" (closed) -> an h11 error
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return Answer(status, headers, body)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def port(app: FastAPI) -> Iterator[int]:
    """The service on a real uvicorn in a thread, with two routes that exist only here."""
    app.add_api_route("/test/raises", _raise)
    app.add_api_route(
        "/test/raises-after-answering",
        lambda: Response("sent", background=BackgroundTask(_raise)),
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_keep_alive=30))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            thread.join(0.05)
        assert server.started, "uvicorn did not start"
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def test_a_handler_that_raises_answers_500_and_the_connection_serves_the_next_request(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    connection = KeepAliveConnection(port)
    with caplog.at_level(logging.ERROR):
        try:
            answers = [
                (connection.get("/test/raises"), connection.get("/healthz")) for _ in range(ROUNDS)
            ]
        finally:
            connection.close()

    for failed, next_one in answers:
        assert failed.status == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.headers.get("connection") != "close"
        assert json.loads(failed.body)["detail"] == (
            "an unexpected error occurred; it has been logged"
        )
        assert next_one.status == 200
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error on GET /test/raises"]
    assert len(logged) == ROUNDS
    assert all(r.exc_info is not None and r.exc_info[0] is Boom for r in logged)
    assert "Exception in ASGI application" not in caplog.text  # nothing reached uvicorn


def test_an_error_after_the_answer_was_sent_keeps_the_connection_too(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    connection = KeepAliveConnection(port)
    with caplog.at_level(logging.ERROR):
        try:
            answers = [
                (connection.get("/test/raises-after-answering"), connection.get("/healthz"))
                for _ in range(ROUNDS)
            ]
        finally:
            connection.close()

    assert [(a.status, a.body, b.status) for a, b in answers] == [(200, b"sent", 200)] * ROUNDS
    # uvicorn starts the next request once an answer is complete, while that answer's
    # background task may still run: the last round's error can be logged after its /healthz
    logged = "unhandled error on GET /test/raises-after-answering"
    deadline = time.monotonic() + 5
    while caplog.text.count(logged) < ROUNDS and time.monotonic() < deadline:
        time.sleep(0.01)
    assert caplog.text.count(logged) == ROUNDS
