"""A bulk notice to 10,000 customers, from the API call to the last e-mail the SMTP server took.

PostgreSQL; a real SMTP server (aiosmtpd) on 127.0.0.1 in its own process, counting what it
receives. Two figures (issue 19):
- **queue**: ``POST /v1/notices`` with ``dry_run: false`` over 10,000 parcels (every customer
  with an address, in four languages): seconds for the request, i.e. rendering and queueing.
- **send**: the ``deliver-messages`` job in one process at default settings, from its first
  lease until the server has every message: messages per second. Target ≥ 200/s.

``python -m bench notices`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.db.types import utcnow
from app.main import create_app
from app.notify import job as deliver_messages
from app.parcels.models import Parcel
from bench.figures import Figure
from bench.pg import throwaway_database
from tests.mail_server import free_port

KEY = "rt_bench_" + "n" * 40
AUTH = {"Authorization": f"Bearer {KEY}"}
LOCALES = ("de-DE", "fr-FR", "en-GB", "es-ES")
HOLIDAY = {"holiday_name": "Spring Festival", "from_date": "2027-02-05", "to_date": "2027-02-13"}


def _serve_smtp(ready: Any, stop: Any, counted: Any) -> None:
    """The SMTP server process: accept every message, count them, report the count."""
    from aiosmtpd.controller import Controller

    class Counting:
        received = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Counting.received += 1
            return f"250 2.0.0 Ok: queued as B{Counting.received}"

    port = free_port()
    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.send(port)
    stop.wait()
    controller.stop()
    counted.send(Counting.received)


class SmtpProcess:
    def __init__(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._ready, ready_in = spawn.Pipe(duplex=False)
        self._counted, counted_in = spawn.Pipe(duplex=False)
        self._stop = spawn.Event()
        self._process = spawn.Process(target=_serve_smtp, args=(ready_in, self._stop, counted_in))

    def __enter__(self) -> SmtpProcess:
        self._process.start()
        self.port: int = self._ready.recv()
        return self

    def finish(self) -> int:
        self._stop.set()
        received: int = self._counted.recv()
        self._process.join(timeout=30)
        return received

    def __exit__(self, *exc: object) -> None:
        if self._process.is_alive():
            self._process.kill()


def _settings(db: Database, port: int) -> Settings:
    return Settings(
        database_url=db.url,
        scheduler="off",
        bootstrap_api_key=KEY,
        secret_key="bench-secret-key-0123456789abcdef0123456789",  # noqa: S106 (throw-away)
        rate_limit_per_minute=0,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_from="Acme Care <care@acme.example>",
        tick_budget_seconds=600,
    )


def _parcels(db: Database, tenant: uuid.UUID, count: int) -> None:
    now = utcnow()
    with db.session() as session:
        session.execute(
            insert(Parcel),
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant,
                    "carrier": "ups",
                    "tracking_number": f"1Z999AA1{i:010d}",
                    "order_id": f"SO-{i}",
                    "status": "in_transit",
                    "customer_name": f"Customer {i}",
                    "customer_email": f"customer{i}@example.com",
                    "customer_locale": LOCALES[i % len(LOCALES)],
                    "origin_country": "CN",
                    "destination_country": "DE",
                    "shipped_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()


def _one_run(count: int) -> tuple[float, float]:
    with throwaway_database("notices") as db, SmtpProcess() as smtp:
        settings = _settings(db, smtp.port)
        app = create_app(settings, database=db)
        with TestClient(app) as client:
            with db.session() as session:
                tenant = ensure_tenant(session, slug="default").id
                session.commit()
            _parcels(db, tenant, count)
            body = {
                "filter": {"carrier": "ups"},
                "template_key": "holiday_suspension",
                "params": HOLIDAY,
                "quiet_hours": False,  # a benchmark run at night must not wait for the morning
            }
            preview = client.post("/v1/notices", json=body, headers=AUTH)
            assert preview.status_code == 200, preview.text
            started = time.perf_counter()
            sent = client.post("/v1/notices", json={**body, "dry_run": False}, headers=AUTH)
            queue_seconds = time.perf_counter() - started
            assert sent.status_code == 201, sent.text
        ctx = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=utcnow)
        totals: Counter[str] = Counter()
        started = time.perf_counter()
        while totals["sent"] < count:
            totals.update(asyncio.run(deliver_messages.run(ctx)))
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"not all sent after 600 s: {dict(totals)}")
        send_rate = count / (time.perf_counter() - started)
        received = smtp.finish()
        if received < count:
            raise RuntimeError(f"the SMTP server has {received} of {count} messages")
    return queue_seconds, send_rate


def run(quick: bool) -> list[Figure]:
    count, runs = (1_000, 1) if quick else (10_000, 2)
    results = [_one_run(count) for _ in range(runs)]
    queued = tuple(q for q, _ in results)
    rates = tuple(r for _, r in results)
    return [
        Figure(f"bulk notice to {count:,} parcels: POST /v1/notices", "s", queued),
        Figure(
            f"bulk notice to {count:,} parcels: e-mails sent to a local SMTP server",
            "messages/s",
            rates,
            target="≥ 200/s",
            met=min(rates) >= 200,
        ),
    ]
