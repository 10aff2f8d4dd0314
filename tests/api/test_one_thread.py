"""A request's handler and its commit share one worker thread (``app.api.one_thread``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from sqlalchemy import event

from app.api.one_thread import (
    OneThreadRoute,
    in_one_thread,
    request_threads,
    set_request_threads,
)
from app.core.settings import Settings
from app.db.engine import Database
from tests.api.routes import every_route
from tests.factories import ApiClient, open_incident, parcel_payload, register_parcel


@contextmanager
def threads_touching_the_database(db: Database) -> Iterator[list[tuple[str, int]]]:
    """(what, thread id) for every statement, commit and rollback while the block runs."""
    seen: list[tuple[str, int]] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append((sql.split()[0].lower(), threading.get_ident()))

    def commit(_conn: Any) -> None:
        seen.append(("commit", threading.get_ident()))

    def rollback(_conn: Any) -> None:
        seen.append(("rollback", threading.get_ident()))

    listeners: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", statement),
        ("commit", commit),
        ("rollback", rollback),
    ]
    for name, listener in listeners:
        event.listen(db.engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(db.engine, name, listener)


def test_a_read_runs_its_queries_and_its_commit_in_one_worker_thread(
    api: ApiClient, db: Database
) -> None:
    parcel = register_parcel(api)
    incident = open_incident(api, parcel_id=parcel["id"]).json()
    api.get(f"/v1/incidents/{incident['id']}/timeline")  # the key is remembered from here on

    with threads_touching_the_database(db) as seen:
        response = api.get(f"/v1/incidents/{incident['id']}/timeline")

    assert response.status_code == 200
    assert [what for what, _ in seen][-1] in ("commit", "rollback")
    assert len({thread for _, thread in seen}) == 1
    assert threading.get_ident() not in {thread for _, thread in seen}


def test_a_write_commits_in_the_thread_that_did_the_work(api: ApiClient, db: Database) -> None:
    api.get("/v1/parcels")  # the key is remembered from here on

    with threads_touching_the_database(db) as seen:
        response = api.post("/v1/parcels", json=parcel_payload())

    assert response.status_code == 201
    work = [thread for what, thread in seen if what in ("insert", "commit")]
    assert "commit" in [what for what, _ in seen]
    assert len(set(work)) == 1


def test_a_handler_that_refuses_rolls_back_in_its_own_thread(api: ApiClient, db: Database) -> None:
    api.get("/v1/parcels")  # the key is remembered from here on

    with threads_touching_the_database(db) as seen:
        missing = api.get("/v1/incidents/00000000-0000-0000-0000-000000000000/timeline")

    assert missing.status_code == 404
    assert [what for what, _ in seen][-1] == "rollback"
    assert "commit" not in [what for what, _ in seen]
    assert len({thread for _, thread in seen}) == 1


def test_every_api_route_runs_in_one_thread(app: FastAPI) -> None:
    """A new router that forgets ``route_class=OneThreadRoute`` fails here."""
    under_v1 = [route for route in every_route(app.routes) if route.path.startswith("/v1")]

    assert len(under_v1) > 50
    assert [r.path for r in under_v1 if not isinstance(r, OneThreadRoute)] == []


def test_no_more_handlers_run_at_once_than_the_loop_allows() -> None:
    """``RT_REQUEST_THREADS``: the rest wait their turn on the loop, and all are answered."""
    running, most = 0, 0
    lock = threading.Lock()

    def handler(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return n

    async def twelve_requests() -> list[int]:
        set_request_threads(3)
        run = in_one_thread(handler)
        answers: list[int] = []

        async def one(n: int) -> None:
            answers.append(await run(n=n))

        async with anyio.create_task_group() as group:
            for n in range(12):
                group.start_soon(one, n)
        return answers

    answers = anyio.run(twelve_requests)

    assert sorted(answers) == list(range(12))
    assert most == 3


def test_the_default_is_the_settings_default() -> None:
    async def limit() -> float:
        return request_threads().total_tokens

    assert anyio.run(limit) == Settings().request_threads == 8
