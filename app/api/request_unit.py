"""The request's unit of work, and the route class that finishes it.

``app.api.deps.get_session`` opens one session per request and leaves it in the request's
scope; the route (``UnitOfWorkRoute``) commits it once the handler has returned and its answer
is built, or rolls it back when anything raised, in both cases before a byte of the answer
leaves. Before, the session dependency was an ``async`` generator that FastAPI wound down
through an exit stack of its own: a tenth of a cheap read's CPU, for what a ``try`` around the
handler does.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import anyio
from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlmodel import Session

from app.api.idempotency.marking import mark_with_the_work
from app.db.unit_of_work import finish

_REQUEST = "rt_request"  # session.info: (request, response) of the request it is the unit of
_FINISHED = "rt_request_finished"
_UNITS = "rt_units"  # scope: the sessions opened for this request


class NoUnitOfWork(RuntimeError):
    """A route that cannot finish a unit of work asked for one: a programming error."""


def open_request_unit(session: Session, request: Request, response: Response) -> Session:
    """Make ``session`` the request's unit of work (no I/O); its route finishes it."""
    if not isinstance(request.scope.get("route"), UnitOfWorkRoute):
        session.close()
        raise NoUnitOfWork(
            f"{request.url.path}: the session dependency needs a UnitOfWorkRoute "
            "(route_class=OneThreadRoute or UnitOfWorkRoute on its router)"
        )
    session.info[_REQUEST] = (request, response)
    request.scope.setdefault(_UNITS, []).append(session)
    return session


def is_request_unit(value: object) -> bool:
    return isinstance(value, Session) and _REQUEST in value.info


def is_finished(session: Session) -> bool:
    return bool(session.info.get(_FINISHED))


def finish_request_unit(session: Session, *, commit: bool) -> None:
    """Commit (marking the request's Idempotency-Key with the work) or roll back, and close.

    Blocking: run it in a worker thread. Runs once; a second call does nothing.
    """
    if is_finished(session):
        return
    session.info[_FINISHED] = True
    if commit:
        request, response = session.info[_REQUEST]
        mark_with_the_work(session, request, response)
    finish(session, commit=commit)


def _finish_all(units: list[Session], *, commit: bool) -> None:
    for unit in units:
        finish_request_unit(unit, commit=commit)


async def _finish_open_units(request: Request, *, commit: bool) -> None:
    """Finish what the handler's thread did not, in the thread pool; shielded, so that a
    client hanging up cannot leave a connection checked out."""
    units = [unit for unit in request.scope.get(_UNITS, ()) if not is_finished(unit)]
    if units:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(partial(_finish_all, units, commit=commit))


class UnitOfWorkRoute(APIRoute):
    """A route that commits its request's unit of work when the answer is ready, or rolls it
    back when the handler, a dependency or the answer's validation raised."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                answer = await handler(request)
            except BaseException:
                await _finish_open_units(request, commit=False)
                raise
            await _finish_open_units(request, commit=True)
            return answer

        return handle
