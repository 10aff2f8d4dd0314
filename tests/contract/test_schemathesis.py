"""Schemathesis over our own OpenAPI, in process, on SQLite and PostgreSQL.

Every operation gets generated requests (the schema's examples, its boundary values, then
random valid and invalid data) with a key that has every scope. A test fails on a 5xx, an
undocumented status or content type, a body that does not match its schema, or an error that
is not problem+json naming its status (``problem_details``). Half of the requests aimed at a
path with ids name the rows seeded first, so they get past the 404 into the handler.

The run is bounded for CI (``MAX_EXAMPLES`` per operation, derandomised so it is the same
every time); ``python3 dev.py bench contract`` runs the same test with many more examples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.conftest import _wipe
from tests.contract.seed import Seeded, jpeg, seed_tenant
from tests.factories import ApiClient, FakeClock, new_api_key

MAX_EXAMPLES = int(os.environ.get("RT_CONTRACT_MAX_EXAMPLES", "10"))
# The boundary-value phase in CI: "positive" (valid edge values, ~850 requests); the benchmark
# sets "all" to add every invalid variant of every parameter (~2,000 more).
COVERAGE_MODE = os.environ.get("RT_CONTRACT_COVERAGE_MODE", "positive")
# Filled by the ``seeded`` fixture before any generation: the ids a request may aim at, and
# for DELETE spare rows of their own, so a deletion does not turn later operations into 404s.
SEEDED_PATH_IDS: dict[str, str] = {}
SPARE_PATH_IDS: dict[str, str] = {}


def _document() -> dict[str, Any]:
    """The OpenAPI as the service serves it (building it touches no database)."""
    offline = Settings(database_url="sqlite://", auto_migrate=False, scheduler="off")
    return create_app(offline).openapi()


CONFIG = schemathesis.Config.from_dict(
    {"phases": {"coverage": {"generation": {"mode": COVERAGE_MODE}}}}
)
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Either the generated ids, or (where known) the seeded rows' ids: both get exercised."""
    if not path_parameters:
        return st.just(path_parameters)
    operation = context.operation
    ids = SPARE_PATH_IDS if operation is not None and operation.method == "delete" else {}
    ids = {**SEEDED_PATH_IDS, **ids}
    known = {name: ids[name] for name in path_parameters if name in ids}
    return st.sampled_from([{**path_parameters, **known}, path_parameters])


@schemathesis.check
def problem_details(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> None:
    """Every error is problem+json with its own status and a title; a 422 names the field."""
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == "application/problem+json", content_type
    body = response.json()
    assert body["status"] == response.status_code, body
    assert isinstance(body.get("title"), str), body
    assert body["title"], body
    if response.status_code == 422:
        assert body.get("errors"), body
        assert all(isinstance(e.get("field"), str) and e["field"] for e in body["errors"]), body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_details,
]


@pytest.fixture(scope="module")
def contract_app(
    migrated_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """One app per database for the whole module: seeding once keeps the run short."""
    _wipe(migrated_database)
    settings = Settings(
        database_url="sqlite://",  # unused: the app gets the test database
        auto_migrate=False,
        secret_key="test-secret-key-for-page-tokens-0123456789",
        data_dir=tmp_path_factory.mktemp("contract"),
        scheduler="off",
        webhook_allow_http=True,
        webhook_allow_private_networks=True,
        webhook_timeout_seconds=1.0,
        rate_limit_per_minute=0,  # one key makes every request: no per-key limit
        auth_failures_per_minute=0,  # and the fuzzer sends wrong keys on purpose
    )
    yield create_app(settings, database=migrated_database, clock=FakeClock())
    shutdown_lifespans()  # schemathesis keeps an app's lifespan running until asked


@pytest.fixture(scope="module")
def contract_key(contract_app: FastAPI) -> str:
    return new_api_key(contract_app.state.db, tenant="acme", name="contract-fuzzer")


@pytest.fixture(scope="module")
def seeded(contract_app: FastAPI, contract_key: str) -> Iterator[Seeded]:
    # Not entered as a context: that would start a second lifespan beside schemathesis's
    # (seeding needs no carriers); closed by hand instead.
    http = TestClient(contract_app)
    api = ApiClient(http, contract_key)
    try:
        rows = seed_tenant(
            api,
            marker="acme",
            order_id="SO-77001",
            tracking_number="SANDBOX-INTRANSIT-77001",
            email="maria.contract@example.com",
        )
        spare_endpoint = api.post("/v1/webhook-endpoints", json={"url": rows.hook_url}).json()
        evidence = f"/v1/incidents/{rows.incident_id}/evidence"
        spare_file = api.post(evidence, files={"file": ("spare.jpg", jpeg())}).json()
    finally:
        http.close()
    SEEDED_PATH_IDS.update(rows.path_ids)
    SPARE_PATH_IDS.update(endpoint_id=spare_endpoint["id"], evidence_id=spare_file["id"])
    yield rows
    SEEDED_PATH_IDS.clear()
    SPARE_PATH_IDS.clear()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_its_contract(
    case: schemathesis.Case[Any], contract_app: FastAPI, contract_key: str, seeded: Seeded
) -> None:
    response = case.call(app=contract_app, headers={"Authorization": f"Bearer {contract_key}"})
    case.validate_response(response, checks=CHECKS)
