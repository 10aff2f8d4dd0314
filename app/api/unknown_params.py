"""Unknown query parameters are refused, so a misspelt filter never returns everything.

``GET /v1/incidents?order_idd=SO-1`` used to answer every incident: the parameter was simply
not read. Now any query parameter the matched operation does not declare is a 400 naming it,
as Stripe answers "Received unknown parameter". The declared names come from the route's
dependency tree (its own parameters, those of its dependencies, and the fields of a Pydantic
model read from the query), read once per route and kept.

Only the operations in the OpenAPI document are checked. The documentation pages outside it
(``/docs``, ``/redoc``, ``/openapi.json``, their static files) read no parameter and answer the
same whatever a browser, a shared link (``utm_*``) or a cache-buster (``?v=``) adds, and the
OAuth2 redirect page of ``/docs`` exists to receive parameters it does not declare.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

from app.api.deps import refuse_nul
from app.core.errors import BadRequest


class UnknownParameter(BadRequest):
    slug = "unknown-parameter"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The Pydantic model a query parameter is read into (``Model`` or ``Model | None``)."""
    if get_origin(annotation) in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not NoneType]
        annotation = args[0] if len(args) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _names(name: str, info: FieldInfo) -> Iterator[str]:
    """The names a client may send a field under: its alias, or each of its alias choices."""
    if isinstance(info.validation_alias, AliasChoices):
        yield from (choice for choice in info.validation_alias.choices if isinstance(choice, str))
    elif isinstance(info.validation_alias, str):
        yield info.validation_alias
    else:
        yield info.alias or name


def declared_query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter ``dependant`` and its dependencies read, by the name sent."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for field in current.query_params:
            model = _model_of(field.field_info.annotation)
            if model is None:
                names.update(_names(field.alias, field.field_info))
            else:
                for name, info in model.model_fields.items():
                    names.update(_names(name, info))
    return frozenset(names)


def _known_for(request: Request, route: APIRoute) -> frozenset[str]:
    """Worked out once per route of this app (the app keeps its routes alive, so ids hold)."""
    cache: dict[int, frozenset[str]] | None = getattr(request.app.state, "query_names", None)
    if cache is None:
        cache = request.app.state.query_names = {}
    known = cache.get(id(route))
    if known is None:
        known = cache[id(route)] = declared_query_names(route.dependant)
    return known


def _hint(name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


async def refuse_unknown_query_params(request: Request) -> None:
    """400 naming every query parameter the matched operation does not read.

    Installed app-wide, it runs before the route's own dependencies (authentication included)
    and before the body is validated, so the answer does not depend on the rest of the request.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return  # the documentation pages (module docstring)
    known = _known_for(request, route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if not unknown:
        return
    errors = [{"field": name, "in": "query", "message": "unknown parameter"} for name in unknown]
    listed = ", ".join(f"'{name}'{_hint(name, known)}" for name in unknown)
    takes = ", ".join(sorted(known)) or "no query parameters"
    detail = f"unknown query parameter {listed}; this operation takes {takes}"
    raise UnknownParameter(detail, errors=errors)


async def refuse_bad_parameters(request: Request) -> None:
    """Every request's two checks of its parameters, NUL first, as one app-wide dependency:
    FastAPI's machinery costs about as much per dependency as these checks themselves."""
    await refuse_nul(request)
    await refuse_unknown_query_params(request)
