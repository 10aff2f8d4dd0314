"""/docs and /redoc work on a machine with no internet, and /docs can call the API.

The OpenAPI declares the API key as an HTTP bearer scheme on every /v1 operation (Swagger UI's
Authorize button, then "Try it out" sends it) and the /metrics scrape token as its own,
optional scheme. The pages load Swagger UI and ReDoc from this service, never from a CDN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app
from tests.factories import ApiClient

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture
def docs_client(settings: Settings) -> Iterator[TestClient]:
    """The service without a database: the documents and pages need none."""
    with TestClient(create_app(settings)) as client:
        yield client


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_the_api_key_is_a_bearer_scheme_on_every_v1_operation(docs_client: TestClient) -> None:
    document = docs_client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]

    assert schemes["ApiKey"]["type"] == "http"
    assert schemes["ApiKey"]["scheme"] == "bearer"
    v1 = [(m, p, op) for m, p, op in operations(document) if p.startswith("/v1/")]
    assert len(v1) > 40
    unsecured = [(m, p) for m, p, op in v1 if op.get("security") != [{"ApiKey": []}]]
    assert unsecured == []
    for path in ("/healthz", "/readyz"):
        assert "security" not in document["paths"][path]["get"]


def test_the_metrics_token_is_its_own_optional_scheme(docs_client: TestClient) -> None:
    document = docs_client.get("/openapi.json").json()

    scheme = document["components"]["securitySchemes"]["MetricsToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "RT_METRICS_TOKEN" in scheme["description"]
    # either the token or nothing (RT_METRICS_TOKEN unset): {} is OpenAPI's "no auth" option
    assert document["paths"]["/metrics"]["get"]["security"] == [{"MetricsToken": []}, {}]


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic abc", "Bearer", "Bearer ", "Bearer    ", "Token rt_x"],
)
def test_a_missing_or_malformed_key_keeps_its_401_answer(
    client: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/v1/parcels", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="resolution-tracker"'
    assert response.json()["detail"] == "send 'Authorization: Bearer <api key>'"


def test_what_swagger_ui_sends_after_authorize_is_accepted(
    client: TestClient, api: ApiClient
) -> None:
    unknown = client.get("/v1/parcels", headers={"Authorization": "Bearer rt_nope"})
    assert unknown.json()["detail"] == "the API key is unknown or revoked"

    # Swagger UI sends "Authorization: Bearer <what was typed>"
    answer = client.get("/v1/parcels", headers={"Authorization": f"Bearer {api.key}"})

    assert answer.status_code == 200
    assert answer.json()["items"] == []


@pytest.mark.parametrize(
    ("page", "kinds"),
    [("/docs", {"javascript", "css"}), ("/redoc", {"javascript"})],
)
def test_doc_pages_load_their_assets_from_this_service(
    docs_client: TestClient, page: str, kinds: set[str]
) -> None:
    html = docs_client.get(page)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")

    # nothing on another host: no http(s):// and no protocol-relative //host
    assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+", html.text) == []
    urls = [a or b for a, b in ASSET.findall(html.text)]
    assets = [url for url in urls if url.endswith((".js", ".css"))]
    assert assets
    assert all(not urlsplit(url).netloc and url.startswith("/") for url in urls)
    served = set()
    for url in assets:
        response = docs_client.get(url)
        assert response.status_code == 200, url
        kind = response.headers["content-type"].split(";")[0].split("/")[1]
        assert kind in {"javascript", "css"}, (url, kind)
        assert len(response.content) > 10_000, url  # the real bundle, not a stub
        served.add(kind)
    assert served == kinds
    assert docs_client.get("/openapi.json").status_code == 200
