"""PostgreSQL stopped and started again under a steady load of writes.

A throw-away cluster (``pg_cluster``), an API replica and a scheduler on it, three threads
writing parcels and incidents with Idempotency-Keys. While the database is down ``/readyz``
says 503 (problem+json) and writes fail; once it is back the same API process is ready again
by itself, writes succeed, and the scheduler's jobs run again. Afterwards:

- every request that got a 2xx has its row, with the id the answer gave;
- a request that failed, sent again with its key, either runs now or is refused (409: still
  claimed, or the parcel exists), and never makes a second row;
- a request that succeeded, sent again with its key, is replayed (same id) or refused, never
  run twice;
- every parcel gets polled and every webhook delivered: no job died on the outage.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.core.tenancy import generate_secret
from app.db.engine import Database
from tests.system import checks
from tests.system.conftest import SECRET_KEY
from tests.system.load import Load, Sent, send
from tests.system.pg_cluster import Cluster, find_server_binaries
from tests.system.processes import Processes, ready, rt_env, wait_for, wait_ready
from tests.system.service import Service
from tests.webhooks.receiver import Receiver

IN_CI = os.environ.get("CI", "").lower() == "true"
SUCCESSES_BEFORE = 30
SUCCESSES_AFTER = 30


def _server_binaries() -> Path:
    found = find_server_binaries()
    if found is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found: set RT_TEST_PG_BIN"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _create_database(pg: Cluster, name: str) -> str:
    admin = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg.url(name)


def _env(database_url: str, data_dir: Path, key: str) -> dict[str, str]:
    return rt_env(
        database_url,
        data_dir,
        secret_key=SECRET_KEY,
        bootstrap_api_key=key,
        log_level="WARNING",
        poll_interval_seconds=1,
        poll_lease_seconds=10,
        detect_interval_seconds=1,
        webhook_dispatch_interval_seconds=1,
        webhook_allow_http=True,
        webhook_allow_private_networks=True,
        webhook_timeout_seconds=2,
        webhook_retry_schedule=[0.2, 0.5, 1, 1, 1, 1, 1, 1, 1, 1],
        webhook_lease_seconds=5,
    )


@pytest.mark.postgres_only
def test_postgres_restart_under_load_loses_no_accepted_write(
    processes: Processes, tmp_path: Path
) -> None:
    bin_dir = _server_binaries()
    key = generate_secret()
    with Cluster(bin_dir) as pg, Receiver() as receiver:
        try:
            _restart_under_load(pg, processes, receiver, tmp_path, key)
        finally:
            processes.stop_all()  # before the cluster goes


def _restart_under_load(
    pg: Cluster, processes: Processes, receiver: Receiver, tmp_path: Path, key: str
) -> None:
    database_url = _create_database(pg, "rt")
    env = _env(database_url, tmp_path, key)
    api = processes.api("api", env)
    scheduler = processes.scheduler("scheduler", env)
    wait_ready(processes, api)
    service = Service([api.url], key)
    service.subscribe(receiver.url("/restart"))

    with Load(api.url, key) as load:
        wait_for(lambda: load.successes() >= SUCCESSES_BEFORE, timeout=30, what="writes")
        pg.stop("fast")
        stopped = time.monotonic()
        not_ready = httpx.get(f"{api.url}/readyz", timeout=10)
        wait_for(
            lambda: _failures(load.snapshot(), since=stopped) >= 5,
            timeout=30,
            what="writes failing while the database is down",
        )
        pg.start()
        restarted = time.monotonic()
        wait_for(lambda: ready(api), timeout=30, what="/readyz 200 again", interval=0.1)
        wait_for(
            lambda: load.successes(since=restarted) >= SUCCESSES_AFTER,
            timeout=30,
            what="writes succeeding again",
            processes=processes,
        )
    sent = load.snapshot()

    assert not_ready.status_code == 503
    assert not_ready.headers["content-type"] == "application/problem+json"
    assert not_ready.json()["status"] == 503
    assert "unreachable" in not_ready.json()["detail"]
    assert api.alive(), api.tail()  # it recovered by itself: the same process throughout
    assert scheduler.alive(), scheduler.tail()
    # every write got an answer (the API never dropped a connection), errors as problems
    unanswered = [s for s in sent if s.status is None]
    assert unanswered == [], api.tail(60)
    for failed in [s for s in sent if not s.ok]:
        assert failed.content_type == "application/problem+json", failed
        assert failed.answer["status"] == failed.status, failed

    with httpx.Client(headers=service.headers, timeout=15) as client:
        retried = [send(client, api.url, s.path, s.key, s.body) for s in sent if not s.ok]
        replayed = [send(client, api.url, s.path, s.key, s.body) for s in sent if s.ok]
    db = Database(database_url)
    try:
        _assert_every_accepted_write_stored(db, sent, retried, replayed)
        # the jobs survived the outage: everything registered gets polled and announced
        wait_for(
            lambda: _scheduler_caught_up(db),
            timeout=40,
            what=lambda: f"the scheduler to catch up, {checks.progress(db)}",
            processes=processes,
        )
    finally:
        db.dispose()
    service.close()
    assert {r.webhook_id for r in receiver.requests} >= _event_ids(database_url)


def _failures(sent: list[Sent], *, since: float) -> int:
    return sum(1 for s in sent if s.at >= since and not s.ok)


def _scheduler_caught_up(db: Database) -> bool:
    left = checks.progress(db)
    return not left["unpolled"] and not left["due"] and not left["webhooks_pending"]


def _event_ids(database_url: str) -> set[str]:
    db = Database(database_url)
    try:
        rows = checks.rows(db, "SELECT id FROM events")
    finally:
        db.dispose()
    return {f"evt_{row[0].hex}" for row in rows}


def _assert_every_accepted_write_stored(
    db: Database, sent: list[Sent], retried: list[Sent], replayed: list[Sent]
) -> None:
    parcels = {str(r[0]): r[1] for r in checks.rows(db, "SELECT id, tracking_number FROM parcels")}
    incidents = {
        str(r[0]): r[1]
        for r in checks.rows(
            db,
            "SELECT i.id, p.tracking_number FROM incidents i JOIN parcels p ON p.id = i.parcel_id",
        )
    }
    rows_for = {"/v1/parcels": parcels, "/v1/incidents": incidents}
    for accepted in [s for s in sent if s.ok] + [r for r in retried if r.ok]:
        stored = rows_for[accepted.path]
        assert stored.get(str(accepted.answer["id"])) == accepted.tracking_number, accepted

    for again in retried:
        # run now, or refused: still claimed by the interrupted first try, or the parcel exists
        assert again.status in (200, 201, 409), again
    for again, first in zip(replayed, [s for s in sent if s.ok], strict=True):
        if again.ok:
            assert again.replayed, again
            assert again.answer["id"] == first.answer["id"]
        else:  # the answer was sent, but storing it for replays failed as the database went
            assert again.status == 409, again
            assert again.answer["type"].endswith("idempotency-key-in-progress"), again

    # whatever was retried or replayed, one row per tracking number and kind
    assert max(Counter(parcels.values()).values()) == 1
    assert max(Counter(incidents.values()).values()) == 1
