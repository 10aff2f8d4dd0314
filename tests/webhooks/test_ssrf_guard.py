"""The SSRF list of reliability.md §1.5, end to end, with production rules (no private networks).

Every URL aims at a canary server on loopback. Each is refused when the endpoint is saved
(422 naming ``url``) and again before every send (the attempt is recorded as refused), and
the canary never sees a connection. Names are answered by a fake DNS; the rebinding name
answers a public address when the endpoint is saved and loopback when it is sent to.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from app.db.engine import Database
from app.webhooks.router import get_url_resolver
from tests.factories import ApiClient, FakeClock
from tests.webhooks.conftest import FakeDns, deliver_now
from tests.webhooks.helpers import add_endpoint, deliveries, emit_event, tenant_id
from tests.webhooks.receiver import Receiver

PUBLIC = "93.184.215.14"  # only ever checked, never connected to


@pytest.fixture
def canary() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def strict(settings: Settings, canary: Receiver) -> Settings:
    """Production rules, except http and the canary's port, so only the address is judged."""
    return settings.model_copy(
        update={
            "webhook_allow_private_networks": False,
            "webhook_allowed_ports": [443, canary.port],
        }
    )


@pytest.fixture
def app(db: Database, clock: FakeClock, strict: Settings) -> FastAPI:
    from app.main import create_app

    return create_app(strict, database=db, clock=clock)


def ssrf_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/",
        f"http://127.1:{port}/",
        f"http://2130706433:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://0177.0.0.1:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://169.254.169.254:{port}/latest/meta-data/",
        f"http://[fd00:ec2::254]:{port}/",
        f"http://10.0.0.1:{port}/",
        f"http://172.16.0.1:{port}/",
        f"http://192.168.0.1:{port}/",
        f"http://100.64.0.1:{port}/",
        f"http://localhost:{port}/",
        f"http://foo.localhost:{port}/",
        f"http://internal.example:{port}/",  # one A record: loopback
        f"http://mixed.example:{port}/",  # one loopback and one public A record
        f"http://nowhere.example:{port}/",  # does not resolve
        f"http://user:pw@127.0.0.1:{port}/",
        f"ftp://127.0.0.1:{port}/",
        f"gopher://127.0.0.1:{port}/",
        f"file://127.0.0.1:{port}/etc/passwd",
        "http://127.0.0.1:22/",  # a port that is not allowed
        f"https://[fe80::1]:{port}/",
    ]


def dns_for_save() -> FakeDns:
    return FakeDns(
        {
            "internal.example": ["127.0.0.1"],
            "mixed.example": ["127.0.0.1", PUBLIC],
            "foo.localhost": ["127.0.0.1"],
            "localhost": ["127.0.0.1", "::1"],
            "rebind.example": iter([[PUBLIC], ["127.0.0.1"], ["127.0.0.1"], ["127.0.0.1"]]),
        }
    )


def test_each_ssrf_url_is_refused_when_saved(
    api: ApiClient, app: FastAPI, canary: Receiver
) -> None:
    app.dependency_overrides[get_url_resolver] = dns_for_save

    for url in ssrf_urls(canary.port):
        response = api.post("/v1/webhook-endpoints", json={"url": url})
        assert response.status_code == 422, url
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "url", url

    assert api.get("/v1/webhook-endpoints").json()["items"] == []
    assert canary.connections == 0


def test_each_ssrf_url_is_refused_before_every_send(
    db: Database, clock: FakeClock, strict: Settings, canary: Receiver
) -> None:
    """As if saved under older rules: the send-time check alone stops them."""
    tenant = tenant_id(db)
    urls = [*ssrf_urls(canary.port), f"http://rebind.example:{canary.port}/"]
    for url in urls:
        add_endpoint(
            db, tenant=tenant, url=url, server_key=strict.resolved_secret_key(), now=clock.now
        )
    emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
    dns = dns_for_save()
    dns.table["rebind.example"] = itertools.repeat(["127.0.0.1"])

    for _ in range(3):
        deliver_now(db, strict, clock, resolver=dns)
        clock.advance(minutes=1)

    rows = deliveries(db)
    assert len(rows) == len(urls)
    for row in rows:
        assert row.status == "pending"
        assert row.attempts == 3
        assert row.last_status_code is None
        assert row.last_error is not None
        assert row.last_error.startswith("refused:"), row.last_error
    assert canary.connections == 0
    assert canary.requests == []


def test_a_name_that_rebinds_after_the_save_is_refused_at_send(
    api: ApiClient, app: FastAPI, db: Database, clock: FakeClock, strict: Settings, canary: Receiver
) -> None:
    dns = dns_for_save()
    app.dependency_overrides[get_url_resolver] = lambda: dns
    saved = api.post("/v1/webhook-endpoints", json={"url": f"http://rebind.example:{canary.port}/"})
    assert saved.status_code == 201  # the name answered a public address then
    emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)

    deliver_now(db, strict, clock, resolver=dns)

    [row] = deliveries(db)
    assert row.last_error == (
        "refused: rebind.example resolves to an address we do not send webhooks to"
    )
    assert canary.connections == 0
