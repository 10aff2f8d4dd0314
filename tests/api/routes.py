"""Every API route of an application, for the tests that check what each route is."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount


def every_route(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, inside included routers (FastAPI keeps those as they were built) and
    mounted FastAPI applications (the desk) too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from every_route(included.routes)
        if isinstance(route, Mount) and isinstance(route.app, FastAPI):
            yield from every_route(route.app.routes)
