"""Liveness, readiness, OpenAPI docs, and problem+json for everything that goes wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text

from app.core.settings import Settings
from app.db.engine import Database
from app.db.migrate import head_revision, known_revisions
from app.main import create_app
from tests.factories import ApiClient, FakeClock


def test_healthz_and_readyz_when_all_is_well(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def _readyz_with_schema_at(
    revision: str, db: Database, clock: FakeClock, settings: Settings
) -> Response:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    try:
        with TestClient(create_app(settings, database=db, clock=clock)) as client:
            response: Response = client.get("/readyz")
            return response
    finally:
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()}
            )


def test_readyz_is_503_when_the_schema_is_behind(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    older = sorted(known_revisions() - {head_revision()})[-1]
    response = _readyz_with_schema_at(older, db, clock, settings)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert f"at {older}" in response.json()["detail"]
    assert "python -m app migrate" in response.json()["detail"]


def test_readyz_stays_ready_when_a_newer_release_migrated_during_a_rolling_deploy(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    response = _readyz_with_schema_at("9999_from_the_next_release", db, clock, settings)

    assert response.status_code == 200
    assert response.json()["schema"] == "9999_from_the_next_release"
    assert "newer than this release" in response.json()["note"]


@pytest.fixture
def unreachable_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """The service over a database that never answers."""
    unreachable = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    app = create_app(
        settings.model_copy(update={"auto_migrate": False}), database=unreachable, clock=clock
    )
    with TestClient(app) as client:
        yield client


def test_readyz_is_503_when_the_database_is_unreachable(unreachable_client: TestClient) -> None:
    response = unreachable_client.get("/readyz")
    assert response.status_code == 503
    assert "unreachable" in response.json()["detail"]


def test_a_request_while_the_database_is_unreachable_is_a_503_to_retry(
    unreachable_client: TestClient,
) -> None:
    headers = {"Authorization": "Bearer rt_anything"}
    response = unreachable_client.get("/v1/parcels", headers=headers)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"].endswith("database-unavailable")
    assert "Idempotency-Key" in response.json()["detail"]


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/v1/incidents/{incident_id}/timeline/verify" in schema["paths"]
    assert client.get("/docs").status_code == 200


def test_unknown_route_wrong_method_and_broken_json_are_problems(
    api: ApiClient, client: TestClient
) -> None:
    unknown = api.get("/v1/nothing-here")  # without a key it is a 401: no route is revealed
    wrong_method = api.client.put("/v1/parcels", headers={"Authorization": f"Bearer {api.key}"})
    broken = api.post(
        "/v1/parcels", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    bad_uuid = api.get("/v1/incidents/not-a-uuid")

    assert (unknown.status_code, wrong_method.status_code) == (404, 405)
    assert broken.status_code == 422
    assert bad_uuid.status_code == 422
    assert bad_uuid.json()["errors"][0] == {
        "field": "incident_id",
        "in": "path",
        "message": bad_uuid.json()["errors"][0]["message"],
    }
    for response in (unknown, wrong_method, broken, bad_uuid):
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
        assert {"type", "title", "detail"} <= response.json().keys()
