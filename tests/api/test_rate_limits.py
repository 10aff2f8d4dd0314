"""Where the counts live: in the process (memory://) or in Redis, shared by every replica."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from app.api.rate_limits import warn_if_unshared
from app.core.settings import Settings
from app.db.engine import Database
from tests.api.conftest import StartApp
from tests.factories import new_api_key

WRONG_KEY = "rt_" + "w" * 43


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_two_replicas_on_redis_share_each_keys_count(
    start_app: StartApp, db: Database, redis_url: str, redis_prefix: str
) -> None:
    shared = {"rate_limit_storage": redis_url, "rate_limit_key_prefix": redis_prefix}
    first, second = (
        start_app(rate_limit_per_minute=4, **shared),
        start_app(rate_limit_per_minute=4, **shared),
    )
    key = new_api_key(db, tenant="acme")

    answers = [(first, second)[i % 2].get("/v1/parcels", headers=bearer(key)) for i in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["3", "2", "1", "0", "0"]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60


def test_two_replicas_on_redis_share_failed_authentications(
    start_app: StartApp, redis_url: str, redis_prefix: str
) -> None:
    shared = {"rate_limit_storage": redis_url, "rate_limit_key_prefix": redis_prefix}
    first = start_app(auth_failures_per_minute=2, **shared)
    second = start_app(auth_failures_per_minute=2, **shared)

    answers = [
        first.get("/v1/parcels", headers=bearer(WRONG_KEY)),
        second.get("/v1/parcels", headers=bearer(WRONG_KEY)),
        first.get("/v1/parcels", headers=bearer(WRONG_KEY)),
    ]

    assert [a.status_code for a in answers] == [401, 401, 429]


def test_in_memory_each_replica_counts_alone(start_app: StartApp, db: Database) -> None:
    """Why several replicas need Redis: each would allow the whole rate on its own."""
    first, second = start_app(rate_limit_per_minute=2), start_app(rate_limit_per_minute=2)
    key = new_api_key(db, tenant="acme")

    on_first = [first.get("/v1/parcels", headers=bearer(key)).status_code for _ in range(2)]
    on_second = [second.get("/v1/parcels", headers=bearer(key)).status_code for _ in range(2)]

    assert on_first == on_second == [200, 200]


def test_an_unreachable_redis_lets_requests_through_and_says_so(
    start_app: StartApp, db: Database
) -> None:
    client = start_app(rate_limit_per_minute=1, rate_limit_storage="redis://127.0.0.1:9")
    key = new_api_key(db, tenant="acme")

    with capture_logs() as logs:
        answers = [client.get("/v1/parcels", headers=bearer(key)) for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 200]
    assert "ratelimit-limit" not in answers[0].headers
    assert any("rate-limit storage failed" in entry["event"] for entry in logs)


@pytest.mark.parametrize(
    ("database_url", "storage", "warned"),
    [
        ("postgresql+psycopg://rt@db/rt", "memory://", True),
        ("postgresql+psycopg://rt@db/rt", "redis://redis:6379", False),
        ("sqlite:///./data/rt.db", "memory://", False),
    ],
)
def test_start_up_warns_when_postgresql_replicas_would_count_alone(
    database_url: str, storage: str, warned: bool
) -> None:
    settings = Settings(database_url=database_url, rate_limit_storage=storage)

    with capture_logs() as logs:
        warn_if_unshared(settings)

    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert bool(warnings) is warned
    if warned:
        assert "RT_RATE_LIMIT_STORAGE=redis://" in warnings[0]["event"]
