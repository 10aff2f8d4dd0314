"""The request gate: who is calling is known before a body byte is read; bodies are capped;
failed authentications and each key's requests are counted.

Bodies are sent straight to the ASGI app (``tests.api.streaming``) so that each test can say
how many bytes the app pulled from the client before it answered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from app.db.engine import Database
from tests.api.conftest import StartApp
from tests.api.streaming import MIB, send_streamed, zeros
from tests.factories import new_api_key

INCIDENT = {"type": "delay", "order_id": "SO-1", "tracking_number": "1Z999AA10123456784"}
WRONG_KEY = "rt_" + "x" * 43


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def away_from_a_window_edge(seconds: float = 60, margin: float = 5) -> None:
    """Wait for the next rate window when this one ends within ``margin`` seconds.

    The sliding-window counter's windows start at multiples of ``seconds`` since the epoch;
    just past an edge the previous window's hits count only in part, so a remaining count
    may stand still for one request (it failed CI once: 49, 48, 48)."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.05)


def bearer(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **more}


def idempotency_rows(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one())


# --- authentication before the body ----------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, f"Bearer {WRONG_KEY}", "Basic abc"])
@pytest.mark.parametrize("idempotency_key", [None, "retry-1"])
def test_a_strangers_5_mb_post_is_refused_before_a_byte_of_it_is_read(
    client: TestClient, authorization: str | None, idempotency_key: str | None
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(5 * MIB)}
    if authorization:
        headers["Authorization"] = authorization
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key

    answer = send_streamed(client, "POST", "/v1/incidents", zeros(5 * MIB), headers=headers)

    assert answer.status == 401
    assert answer.pulled == 0
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["status"] == 401


def test_200_unauthenticated_posts_with_idempotency_keys_never_touch_the_key_table(
    client: TestClient, db: Database
) -> None:
    with statements(db) as seen:
        answers = [
            client.post(
                "/v1/incidents",
                json=INCIDENT,
                headers=bearer(WRONG_KEY, **{"Idempotency-Key": f"attack-{i}"}),
            )
            for i in range(200)
        ]

    assert {a.status_code for a in answers} == {401}
    assert [s for s in seen if "idempotency_keys" in s] == []  # not written and deleted: never
    assert idempotency_rows(db) == 0


def test_the_route_reuses_the_callers_identity_the_gate_found(
    client: TestClient, db: Database
) -> None:
    key = new_api_key(db, tenant="acme")
    with statements(db) as seen:
        answer = client.get("/v1/parcels", headers=bearer(key))

    assert answer.status_code == 200
    assert len([s for s in seen if "from api_keys" in s]) == 1


def test_routes_outside_v1_pass_the_gate_untouched(start_app: StartApp) -> None:
    client = start_app(auth_failures_per_minute=1, rate_limit_per_minute=1)
    for _ in range(3):
        client.get("/v1/parcels", headers=bearer(WRONG_KEY))

    health = client.get("/healthz")

    assert health.status_code == 200
    assert "ratelimit-limit" not in health.headers


# --- body size --------------------------------------------------------------------------------


def test_a_body_declared_over_the_limit_is_413_before_it_is_read(
    client: TestClient, db: Database
) -> None:
    key = new_api_key(db, tenant="acme")
    headers = bearer(key, **{"Content-Type": "application/json", "Content-Length": str(2 * MIB)})

    answer = send_streamed(client, "POST", "/v1/incidents", zeros(2 * MIB), headers=headers)

    assert answer.status == 413
    assert answer.pulled == 0
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["max_bytes"] == 1_048_576
    assert "1048576 bytes" in problem["detail"]
    assert "RT_MAX_BODY_BYTES" in problem["detail"]


@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_streamed_body_without_a_length_is_cut_off_as_it_passes_the_limit(
    client: TestClient, db: Database, idempotency_key: str | None
) -> None:
    key = new_api_key(db, tenant="acme")
    headers = bearer(key, **{"Content-Type": "application/json"})
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key

    answer = send_streamed(client, "POST", "/v1/incidents", zeros(8 * MIB), headers=headers)

    assert answer.status == 413
    assert MIB < answer.pulled <= MIB + 64 * 1024  # one chunk past the limit, not the 8 MiB
    assert answer.json()["max_bytes"] == 1_048_576
    assert idempotency_rows(db) == 0


def test_the_limit_is_a_setting(start_app: StartApp, db: Database) -> None:
    client = start_app(max_body_bytes=100)
    key = new_api_key(db, tenant="acme")

    small = client.post("/v1/incidents", json=INCIDENT, headers=bearer(key))
    padded = client.post(
        "/v1/incidents", json={**INCIDENT, "description": "x" * 100}, headers=bearer(key)
    )

    assert small.status_code == 201
    assert padded.status_code == 413
    assert padded.json()["max_bytes"] == 100


# --- failed authentication ------------------------------------------------------------------


def test_failed_authentications_from_one_address_are_throttled_before_any_lookup(
    start_app: StartApp, db: Database
) -> None:
    client = start_app(auth_failures_per_minute=5)
    good = new_api_key(db, tenant="acme")
    attempts = [
        send_streamed(client, "GET", "/v1/parcels", [], headers=bearer(f"rt_{i}{'g' * 42}"))
        for i in range(5)
    ]
    with statements(db) as seen:
        throttled = send_streamed(client, "GET", "/v1/parcels", [], headers=bearer(WRONG_KEY))
        good_from_there = send_streamed(client, "GET", "/v1/parcels", [], headers=bearer(good))
    good_elsewhere = send_streamed(
        client, "GET", "/v1/parcels", [], headers=bearer(good), address="198.51.100.20"
    )

    assert [a.status for a in attempts] == [401] * 5
    assert throttled.status == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert throttled.headers["content-type"] == "application/problem+json"
    assert throttled.json()["status"] == 429
    assert seen == []  # refused before the database was asked
    assert good_from_there.status == 429  # the address is throttled, whatever key it sends
    assert good_elsewhere.status == 200


def test_failed_authentications_with_one_key_prefix_are_throttled_from_any_address(
    start_app: StartApp,
) -> None:
    client = start_app(auth_failures_per_minute=3)
    prefix = "rt_AbCdEfGhI"  # 12 characters: what a leaked or guessed key starts with
    attempts = [
        send_streamed(
            client,
            "GET",
            "/v1/parcels",
            [],
            headers=bearer(f"{prefix}{i:034d}"),
            address=f"192.0.2.{i + 1}",
        )
        for i in range(4)
    ]
    other_prefix = send_streamed(
        client, "GET", "/v1/parcels", [], headers=bearer(WRONG_KEY), address="192.0.2.99"
    )

    assert [a.status for a in attempts] == [401, 401, 401, 429]
    assert "retry-after" in attempts[-1].headers
    assert other_prefix.status == 401


# --- each key's request rate ------------------------------------------------------------------


def test_each_key_has_a_request_rate_and_every_answer_says_where_it_stands(
    start_app: StartApp, db: Database
) -> None:
    client = start_app(rate_limit_per_minute=3)
    key, other = new_api_key(db, tenant="acme"), new_api_key(db, tenant="acme", name="other")
    away_from_a_window_edge()

    answers = [client.get("/v1/parcels", headers=bearer(key)) for _ in range(4)]
    others = client.get("/v1/parcels", headers=bearer(other))

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    for answer in answers:
        assert answer.headers["ratelimit-limit"] == "3"
        assert answer.headers["ratelimit-policy"] == "3;w=60"
        assert 0 <= int(answer.headers["ratelimit-reset"]) <= 60
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert others.status_code == 200
    assert others.headers["ratelimit-remaining"] == "2"


def test_errors_and_replays_carry_the_rate_headers_too(start_app: StartApp, db: Database) -> None:
    client = start_app(rate_limit_per_minute=50)
    key = new_api_key(db, tenant="acme")
    headers = bearer(key, **{"Idempotency-Key": "same"})
    away_from_a_window_edge()

    missing = client.get("/v1/parcels/00000000-0000-0000-0000-000000000000", headers=bearer(key))
    first = client.post("/v1/incidents", json=INCIDENT, headers=headers)
    replay = client.post("/v1/incidents", json=INCIDENT, headers=headers)

    assert (missing.status_code, first.status_code, replay.status_code) == (404, 201, 201)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert [a.headers["ratelimit-remaining"] for a in (missing, first, replay)] == [
        "49",
        "48",
        "47",
    ]
