"""One worker thread per request: a synchronous handler and the commit of its unit of work.

FastAPI runs a plain ``def`` handler in the thread pool, then validates its answer in the pool
again, and our session dependency commits and closes in a third hop. A thread hop is a cheap
read's whole cost again, so every ``/v1`` route is an ``OneThreadRoute``: its plain handler is
wrapped into an ``async`` one that runs, in one worker thread, the handler and then, when the
answer needs nothing more from the database, the request's commit (``finish_request_unit``).
The answer is then validated and serialised on the event loop with no thread at all.

"Needs nothing more from the database": an answer that is a Response, a (non-table) pydantic
model, None, or a list of those; they were built from rows while the session was open. Any
other answer (a table row, a dict) may still load attributes while FastAPI serialises it, so
its session is finished afterwards, by the route (``app.api.request_unit.UnitOfWorkRoute``),
once the answer is built.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import anyio
from anyio.lowlevel import RunVar
from fastapi import Response
from pydantic import BaseModel
from sqlmodel import SQLModel

from app.api.request_unit import UnitOfWorkRoute, finish_request_unit, is_request_unit
from app.core.settings import Settings


def _needs_no_session(answer: Any) -> bool:
    if answer is None or isinstance(answer, Response):
        return True
    if isinstance(answer, list):
        return all(_needs_no_session(item) for item in answer)
    is_row = isinstance(answer, SQLModel) and getattr(type(answer), "__table__", None) is not None
    return isinstance(answer, BaseModel) and not is_row


def _call_then_finish(handler: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    units = [value for value in arguments.values() if is_request_unit(value)]
    try:
        answer = handler(**arguments)
    except BaseException:
        for unit in units:
            finish_request_unit(unit, commit=False)
        raise
    if _needs_no_session(answer):
        for unit in units:
            finish_request_unit(unit, commit=True)
    return answer


# How many handlers run at once, per event loop (``RT_REQUEST_THREADS``; the lifespan sets it).
# A request past them waits its turn on the loop, in order, instead of in a thread of its own
# fighting the others for the GIL: with 40 threads for 32 connections a POST cost ~230 context
# switches and its p99 was about 1 s; with 8, ~150 and 0.6-0.7 s (bench/api.py's load).
DEFAULT_REQUEST_THREADS: int = Settings.model_fields["request_threads"].default
_request_threads: RunVar[anyio.CapacityLimiter] = RunVar("rt_request_threads")


def set_request_threads(count: int) -> None:
    """Let ``count`` handlers run at once on this event loop (call it on the loop)."""
    _request_threads.set(anyio.CapacityLimiter(count))


def request_threads() -> anyio.CapacityLimiter:
    """This loop's limit on handlers running at once (the default where none was set)."""
    try:
        return _request_threads.get()
    except LookupError:
        set_request_threads(DEFAULT_REQUEST_THREADS)
        return _request_threads.get()


def in_one_thread(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` (a plain function) as a coroutine that runs it and its commit in one thread,
    once one of the loop's ``request_threads()`` is free."""

    @functools.wraps(handler)  # FastAPI reads the parameters through __wrapped__
    async def run(**arguments: Any) -> Any:
        return await run_in_one_thread(handler, arguments)

    return run


async def run_in_one_thread(handler: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    """``handler(**arguments)`` and the commit of the request units among ``arguments``, in one
    worker thread (for an ``async`` handler that hands its work to the ORM path)."""
    return await anyio.to_thread.run_sync(
        _call_then_finish, handler, arguments, limiter=request_threads()
    )


class OneThreadRoute(UnitOfWorkRoute):
    """An API route whose plain ``def`` handler runs, with its commit, in one worker thread."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        plain = inspect.isfunction(endpoint) and not (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        )
        super().__init__(path, in_one_thread(endpoint) if plain else endpoint, **options)
