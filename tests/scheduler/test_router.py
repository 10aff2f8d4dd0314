"""Operator endpoints: running a job tick needs the admin scope and reports counts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.db.engine import Database
from tests.factories import ApiClient, new_api_key


def test_running_a_job_reports_what_it_did(api: ApiClient) -> None:
    response = api.post("/v1/admin/jobs/detect-stuck/run")
    assert response.status_code == 200
    body = response.json()
    assert body["job"] == "detect-stuck"
    assert body["counts"]["opened"] == 0


def test_an_unknown_job_is_404_problem(api: ApiClient) -> None:
    response = api.post("/v1/admin/jobs/make-coffee/run")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "poll" in response.json()["detail"]


def test_running_a_job_needs_the_admin_scope(client: TestClient, db: Database) -> None:
    agent = ApiClient(client, new_api_key(db, tenant="acme", scopes=("read", "incidents:write")))
    response = agent.post("/v1/admin/jobs/poll/run")
    assert response.status_code == 403
    assert response.json()["required_scope"] == "admin"
