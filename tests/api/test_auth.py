"""API keys, scopes, and tenant isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select
from structlog.testing import capture_logs

from app.core.models import ApiKey
from app.core.settings import Settings
from app.core.tenancy import hash_key, revoke_key
from app.db.engine import Database
from app.main import create_app
from tests.factories import (
    ApiClient,
    FakeClock,
    new_api_key,
    open_incident,
    register_parcel,
    revoke_api_key,
)


def test_missing_or_unknown_key_is_401_problem(client: TestClient) -> None:
    missing = client.get("/v1/parcels")
    wrong_scheme = client.get("/v1/parcels", headers={"Authorization": "Basic abc"})
    unknown = client.get("/v1/parcels", headers={"Authorization": "Bearer rt_nope"})

    for response in (missing, wrong_scheme, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401


def test_a_revoked_key_is_refused_once_the_process_stops_remembering_it(
    client: TestClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    """Keys found active are remembered for RT_API_KEY_CACHE_SECONDS: revocation (the CLI,
    another process) takes effect within that bound, never later."""
    secret = new_api_key(db, tenant="acme")
    api = ApiClient(client, secret)
    assert api.get("/v1/parcels").status_code == 200
    revoke_api_key(db, secret)

    clock.advance(seconds=settings.api_key_cache_seconds - 1)
    still_remembered = api.get("/v1/parcels")
    clock.advance(seconds=1)
    past_the_bound = api.get("/v1/parcels")

    assert settings.api_key_cache_seconds == 5
    assert still_remembered.status_code == 200
    assert past_the_bound.status_code == 401


def test_without_remembering_a_revoked_key_is_refused_on_the_next_request(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    app = create_app(
        settings.model_copy(update={"api_key_cache_seconds": 0}), database=db, clock=clock
    )
    secret = new_api_key(db, tenant="acme")
    with TestClient(app) as client:
        api = ApiClient(client, secret)
        assert api.get("/v1/parcels").status_code == 200
        revoke_api_key(db, secret)

        assert api.get("/v1/parcels").status_code == 401


def test_key_is_stored_only_as_a_hash(db: Database) -> None:
    secret = new_api_key(db, tenant="acme")
    with db.session() as session:
        key = session.exec(select(ApiKey)).one()
    assert secret.startswith("rt_")
    assert len(secret) == 46
    assert key.key_hash == hash_key(secret)
    assert secret not in (key.key_hash, key.prefix, key.scopes)


def test_missing_scope_is_403_naming_it(client: TestClient, db: Database) -> None:
    reader = ApiClient(client, new_api_key(db, tenant="acme", scopes=("read",)))

    response = reader.post(
        "/v1/incidents",
        json={"type": "delay", "order_id": "1", "tracking_number": "1Z999AA10123456784"},
    )

    assert response.status_code == 403
    assert response.json()["required_scope"] == "incidents:write"
    assert reader.get("/v1/incidents").status_code == 200


def test_other_tenants_objects_are_404_and_never_listed(
    api: ApiClient, other_api: ApiClient
) -> None:
    parcel = register_parcel(api)
    incident = open_incident(api, parcel["id"])
    incident_id = incident.json()["id"]
    etag = incident.headers["etag"]

    foreign_reads = [
        other_api.get(f"/v1/parcels/{parcel['id']}"),
        other_api.get(f"/v1/parcels/{parcel['id']}/scans"),
        other_api.post(
            f"/v1/parcels/{parcel['id']}/scans",
            json={
                "scans": [
                    {
                        "status": "delivered",
                        "occurred_at": "2026-03-12T10:00:00Z",
                        "description": "x",
                    }
                ]
            },
        ),
        other_api.get(f"/v1/incidents/{incident_id}"),
        other_api.patch(
            f"/v1/incidents/{incident_id}",
            json={"root_cause": "weather"},
            headers={"If-Match": etag},
        ),
        other_api.post(f"/v1/incidents/{incident_id}/transitions", json={"to": "in_progress"}),
        other_api.post(f"/v1/incidents/{incident_id}/actions", json={"kind": "note", "text": "x"}),
        other_api.get(f"/v1/incidents/{incident_id}/timeline"),
        other_api.get(f"/v1/incidents/{incident_id}/timeline/verify"),
        other_api.post("/v1/incidents", json={"type": "delay", "parcel_id": parcel["id"]}),
    ]

    for response in foreign_reads:
        assert response.status_code == 404, (response.request.url, response.text)
        assert parcel["tracking_number"] not in response.text
        assert "Maria" not in response.text
    assert other_api.get("/v1/parcels").json()["items"] == []
    assert other_api.get("/v1/incidents").json()["items"] == []
    # the foreign tenant can register the same tracking number for itself
    assert (
        other_api.post(
            "/v1/parcels",
            json={
                "order_id": "G-1",
                "tracking_number": parcel["tracking_number"],
                "carrier": "ups",
            },
        ).status_code
        == 201
    )
    unchanged = api.get(f"/v1/incidents/{incident_id}").json()
    assert (unchanged["status"], unchanged["version"], unchanged["root_cause"]) == ("open", 1, None)


def test_bootstrap_key_gets_every_scope_for_tenant_default(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    configured = settings.model_copy(
        update={"bootstrap_api_key": SecretStr("rt_bootstrap_for_tests")}
    )
    with TestClient(create_app(configured, database=db, clock=clock)) as client:
        api = ApiClient(client, "rt_bootstrap_for_tests")
        assert api.get("/v1/incidents").status_code == 200
    with TestClient(create_app(configured, database=db, clock=clock)):
        pass  # a restart keeps one key, not two
    with db.session() as session:
        keys = session.exec(select(ApiKey)).all()
    assert len(keys) == 1
    assert set(keys[0].scopes.split()) >= {
        "read",
        "parcels:write",
        "incidents:write",
        "incidents:approve",
        "webhooks:manage",
        "admin",
    }


def test_a_revoked_bootstrap_key_stays_revoked_across_a_restart(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    """Probe finding: revoking the bootstrap key and restarting revived it, because start-up
    re-created whatever RT_BOOTSTRAP_API_KEY named. Revocation wins, and the log says so."""
    configured = settings.model_copy(
        update={"bootstrap_api_key": SecretStr("rt_bootstrap_for_tests")}
    )
    with TestClient(create_app(configured, database=db, clock=clock)):
        pass
    with db.session() as session:
        key = session.exec(select(ApiKey)).one()
        revoke_key(session, key_id=key.id)
        session.commit()

    restarted = create_app(configured, database=db, clock=clock)
    with capture_logs() as logs, TestClient(restarted) as client:
        refused = ApiClient(client, "rt_bootstrap_for_tests").get("/v1/incidents")

    assert refused.status_code == 401
    assert any(entry["event"] == "bootstrap key revoked" for entry in logs)
    with db.session() as session:
        assert session.exec(select(ApiKey)).one().revoked_at is not None
