"""Webhook test set-up: private networks allowed (the receivers listen on 127.0.0.1), a
compressed retry schedule, short timeouts, a fake DNS, and helpers to run the dispatcher.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import anyio
import pytest
import time_machine
from standardwebhooks import Webhook

from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.db.engine import Database
from app.webhooks.dispatch.job import dispatch
from app.webhooks.dispatch.sender import Sender
from app.webhooks.endpoints.ssrf import Policy, Resolver, system_resolver
from tests.webhooks.receiver import Received, Receiver

FAST_SCHEDULE = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.05]


@pytest.fixture
def settings(tmp_path: os.PathLike[str]) -> Settings:
    return Settings(
        database_url="sqlite://",
        auto_migrate=False,
        secret_key="test-secret-key-for-page-tokens-0123456789",
        data_dir=tmp_path,
        scheduler="off",
        webhook_allow_http=True,
        webhook_allow_private_networks=True,
        webhook_retry_schedule=FAST_SCHEDULE,
        webhook_timeout_seconds=2.0,
        webhook_lease_seconds=10,
        webhook_api_base_url="https://tracker.example.com",
        rate_limit_per_minute=0,  # one key makes every request: no per-key limit
        auth_failures_per_minute=0,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


class FakeDns:
    """A resolver answering from a table; a list of answers is used one call after another."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answer = self.table.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if isinstance(answer, Iterator):
            return list(next(answer))
        return list(answer)


def job_context(db: Database, settings: Settings, clock: Any) -> JobContext:
    return JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=clock)


def deliver_now(
    db: Database,
    settings: Settings,
    clock: Any,
    *,
    resolver: Resolver = system_resolver,
) -> dict[str, int]:
    """One dispatcher tick, as the scheduler runs it (with a chosen DNS)."""

    async def tick() -> dict[str, int]:
        policy = Policy.from_settings(settings)
        timeout = settings.webhook_timeout_seconds
        async with Sender(policy=policy, timeout=timeout, clock=clock, resolver=resolver) as s:
            return await dispatch(job_context(db, settings, clock), s)

    return anyio.run(tick)


def verify(received: Received, secret: str, *, now: datetime | None = None) -> Any:
    """The body, if the standardwebhooks reference library accepts the signature.

    The library checks the timestamp against its own clock (5 minutes either way), so a
    test on the fake clock verifies at that clock's time.
    """
    if now is None:
        return Webhook(secret).verify(received.body, received.headers)
    with time_machine.travel(now, tick=False):
        return Webhook(secret).verify(received.body, received.headers)
