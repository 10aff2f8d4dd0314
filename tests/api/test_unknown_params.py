"""A query parameter no operation reads is a 400 naming it, never silently ignored.

Checked on every operation of the OpenAPI document, from the document itself: each is called
with all the query parameters it declares plus one it does not, and only that one is named.
The check runs before the operation's own scope check and before the body is read; under /v1
the request gate has authenticated the caller first, so a stranger hears only 401.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.api.unknown_params import refuse_bad_parameters
from app.core.settings import Settings
from app.main import create_app
from tests.factories import ApiClient

METHODS = {"get", "put", "post", "delete", "patch"}
DOCUMENTATION_PAGES = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
UNKNOWN = [{"field": "zzz", "in": "query", "message": "unknown parameter"}]


@pytest.fixture
def bare_client(settings: Settings) -> Iterator[TestClient]:
    """The service without a database: the check answers before anything touches one."""
    with TestClient(create_app(settings)) as client:
        yield client


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, list[str]]]:
    """(method, path with its parameters filled in, declared query parameter names)."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            params = operation.get("parameters", [])
            query = [p["name"] for p in params if p["in"] == "query"]
            filled = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
            yield method, filled, query


def test_every_operation_names_an_unknown_parameter(api: ApiClient) -> None:
    document = api.get("/openapi.json").json()
    checked = []
    for method, path, declared in operations(document):
        params = [(name, "1") for name in declared] + [("zzz", "1")]
        response = api.client.request(
            method.upper(), path, params=params, headers={"Authorization": f"Bearer {api.key}"}
        )

        assert response.status_code == 400, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == UNKNOWN, (method, path, declared)
        checked.append(f"{method} {path}")

    assert len(checked) >= 60  # every operation, /healthz and /metrics among them
    assert "get /healthz" in checked
    assert "get /metrics" in checked


def test_only_the_documentation_pages_stand_outside_the_rule(bare_client: TestClient) -> None:
    document = bare_client.get("/openapi.json").json()
    in_document = {path for path in document["paths"]}

    outside = set()
    pending = list(bare_client.app.router.routes)  # type: ignore[attr-defined]
    while pending:
        route = pending.pop()
        if hasattr(route, "original_router"):  # an included router
            pending.extend(route.original_router.routes)
        elif isinstance(route, APIRoute) and route.include_in_schema:
            assert route.path in in_document
        elif getattr(route, "path", None) == "/desk":
            # the desk's pages: an app of their own, applying the same rule as pages
            # (tests/desk/test_auth.py: test_unknown_query_parameters_are_a_400_page...)
            assert refuse_bad_parameters in [d.dependency for d in route.app.router.dependencies]
        elif hasattr(route, "path") and not route.path.startswith("/static-offline-docs"):
            outside.add(route.path)

    assert outside == DOCUMENTATION_PAGES
    # a browser's or a shared link's additions do not break the pages
    assert bare_client.get("/docs", params={"utm_source": "mail"}).status_code == 200
    assert bare_client.get("/openapi.json", params={"v": "2"}).status_code == 200


def test_a_misspelt_parcel_filter_is_refused_not_ignored(api: ApiClient) -> None:
    response = api.get("/v1/parcels", params={"stuk": "true"})

    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"] == [{"field": "stuk", "in": "query", "message": "unknown parameter"}]
    assert "did you mean 'stuck'?" in problem["detail"]


def test_a_misspelt_incident_filter_is_refused_not_ignored(
    api: ApiClient, client: TestClient
) -> None:
    response = api.get("/v1/incidents", params={"order_idd": "SO-1", "status": "open"})
    stranger = client.get("/v1/incidents", params={"order_idd": "SO-1", "status": "open"})

    assert stranger.status_code == 401  # the gate tells a stranger nothing about the API
    assert response.status_code == 400
    assert response.json()["type"].endswith(":unknown-parameter")
    assert response.json()["errors"] == [
        {"field": "order_idd", "in": "query", "message": "unknown parameter"}
    ]


def test_several_unknown_parameters_are_all_named(api: ApiClient) -> None:
    response = api.get("/v1/parcels", params={"b": "1", "a": "2", "status": "delivered"})

    assert [e["field"] for e in response.json()["errors"]] == ["a", "b"]


def test_page_parameters_stay_known(api: ApiClient) -> None:
    first = api.get("/v1/incidents", params={"page_size": 1, "status": "open"})
    again = api.get(
        "/v1/incidents", params={"page_size": 1, "page_token": "x" * 40, "status": "open"}
    )

    assert first.status_code == 200
    assert again.status_code == 400  # a bad token, not an unknown parameter
    assert again.json()["errors"][0]["field"] == "page_token"


def test_a_body_operation_refuses_before_reading_the_body(api: ApiClient) -> None:
    response = api.post("/v1/incidents?zzz=1", content=b"{not json")

    assert response.status_code == 400
    assert response.json()["errors"] == UNKNOWN
