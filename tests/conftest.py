"""Every database test runs twice: on SQLite and on the real PostgreSQL.

The PostgreSQL half uses a fresh database per test run (and per xdist worker), built by
running the migrations. Each test then gets empty tables. Without a reachable PostgreSQL the
PostgreSQL half is skipped with one line saying how to point at one; with CI=true it fails.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from adapters.sandbox import SandboxAdapter
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.db.migrate import upgrade_to_head
from app.main import create_app
from app.metadata import metadata
from app.startup import wire
from tests.factories import ApiClient, FakeClock, new_api_key

wire()  # as every process does at start-up: the webhook fan-out subscribes to the outbox

POSTGRES_URL = os.environ.get(
    "RT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = os.environ.get("RT_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _postgres_database() -> Iterator[str]:
    admin = create_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"rt_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = (
            f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string()}: set "
            "RT_TEST_POSTGRES_URL=postgresql+psycopg://user@host:5432/db to run these tests"
        )
        if IN_CI:
            pytest.fail(f"{message} ({exc.orig})")
        pytest.skip(message)
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Property tests check answers, not speed: on a loaded 2-core CI machine one example can take
# longer than Hypothesis's default 200 ms deadline and fail a correct test ("unreliable
# timings"). Speed lives in bench/.
hypothesis_settings.register_profile("resolution-tracker", deadline=None)
hypothesis_settings.load_profile("resolution-tracker")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis, for counts shared between app instances; each test's keys carry a
    prefix of their own (``RT_RATE_LIMIT_KEY_PREFIX``), deleted afterwards. Skipped with one
    line saying how to start one when it is unreachable; with CI=true that fails."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        message = (
            f"Redis not reachable at {REDIS_URL}: start one (redis-server --daemonize yes "
            "--port 6379) or set RT_TEST_REDIS_URL=redis://host:6379 to run these tests"
        )
        if IN_CI:
            pytest.fail(f"{message} ({exc})")
        pytest.skip(message)
    yield REDIS_URL
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted when the test ends."""
    prefix = f"rt-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``postgres_only`` tests (several processes at once) have no SQLite half to run."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        on_sqlite = params is not None and params.params.get("database_url") == "sqlite"
        (drop if on_sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'rt.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade_to_head(database.engine)
    yield database
    database.dispose()


def _wipe(database: Database) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def db(migrated_database: Database) -> Database:
    """A migrated database whose tables are empty when the test starts."""
    _wipe(migrated_database)
    return migrated_database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: os.PathLike[str]) -> Settings:
    return Settings(
        database_url="sqlite://",  # unused: tests hand the app their own Database
        auto_migrate=False,
        secret_key="test-secret-key-for-page-tokens-0123456789",
        data_dir=tmp_path,
        scheduler="off",
        # the suite makes thousands of requests with a handful of keys, and refuses some on
        # purpose: off here, tests/api/test_gate*.py turn them on with low limits
        rate_limit_per_minute=0,
        auth_failures_per_minute=0,
    )


@pytest.fixture
def app(db: Database, clock: FakeClock, settings: Settings) -> FastAPI:
    """The service on the test database and clock; the sandbox carrier keeps the same clock."""

    def hub() -> CarrierHub:
        carriers = CarrierHub.from_registry()
        carriers.adapters["sandbox"] = SandboxAdapter(clock=clock)
        return carriers

    return create_app(settings, database=db, clock=clock, carrier_hub=hub)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, db: Database) -> ApiClient:
    """A client authenticated as tenant 'acme' with every scope."""
    return ApiClient(client, new_api_key(db, tenant="acme", name="agent-anna"))


@pytest.fixture
def other_api(client: TestClient, db: Database) -> ApiClient:
    """A client of another tenant, 'globex', with every scope."""
    return ApiClient(client, new_api_key(db, tenant="globex", name="globex-admin"))


@pytest.fixture
def ops(client: TestClient, db: Database) -> ApiClient:
    """An operator of tenant 'acme' with every scope (admin included)."""
    return ApiClient(client, new_api_key(db, tenant="acme", name="ops-olga"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    """The test app served by uvicorn on 127.0.0.1 (its base URL). TestClient hands an answer
    over inside the process, which hides races between an answer leaving and what the server
    does next; requests from several threads here are as concurrent as a real client's."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in 20 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
