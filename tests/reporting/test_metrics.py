"""GET /metrics, read back with prometheus_client's own parser, after actions we know."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import event
from sqlmodel import select

from app.core.models import Tenant
from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from app.outbox.models import Event
from app.reporting.metrics_db import SnapshotCache
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import UPS_NUMBERS, ApiClient, FakeClock, new_api_key, open_incident
from tests.factories import register_parcel as register
from tests.jobs import run_job

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_cache_seconds": 0.0})


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_database_metrics_and_process_counters_after_known_actions(
    api: ApiClient, client: TestClient, clock: FakeClock
) -> None:
    before = scrape(client)
    # 09:30 a customer reports a delay; 10:00 the agent answers (first response: 30 min)
    delayed = register(api)
    incident = open_incident(api, delayed["id"]).json()
    clock.advance(minutes=30)
    api.post(
        f"/v1/incidents/{incident['id']}/actions",
        json={"kind": "customer_contacted", "text": "Wrote to Maria"},
    )
    # an agent opens a damaged parcel at 10:00; it turns up delivered at 12:00 (2 h)
    damaged = register(api, order_id="SO-2", tracking_number=UPS_NUMBERS[1])
    second = open_incident(api, damaged["id"], type="damaged", source="agent").json()
    clock.advance(hours=2)
    api.post(
        f"/v1/incidents/{second['id']}/transitions",
        json={"to": "resolved", "resolution": "delivered"},
    )
    delivered = {"status": "delivered", "occurred_at": clock.now.isoformat(), "description": "Done"}
    api.post(f"/v1/parcels/{damaged['id']}/scans", json={"scans": [delivered]})
    # a sandbox parcel goes quiet: polled twice, then detection opens an automatic incident
    register(api, order_id="SO-3", tracking_number="SANDBOX-STALLED-0001", carrier=None)
    clock.advance(days=3)
    run_job(api, "poll")
    clock.advance(days=7)
    run_job(api, "poll")
    assert run_job(api, "detect-stuck")["opened"] == 1
    assert client.get("/no-such-page").status_code == 404

    after = scrape(client)

    assert value(after, "rt_incidents_open", type="delay", status="open", carrier="ups") == 1
    assert value(after, "rt_incidents_open", type="delay", status="open", carrier="sandbox") == 1
    assert value(after, "rt_incidents_opened_total", type="delay", source="customer") == 1
    assert value(after, "rt_incidents_opened_total", type="damaged", source="agent") == 1
    assert value(after, "rt_incidents_opened_total", type="delay", source="auto") == 1
    assert value(after, "rt_incidents_resolved", resolution="delivered") == 1
    assert value(after, "rt_parcels_active", carrier="ups", status="info_received") == 1
    assert value(after, "rt_parcels_active", carrier="ups", status="delivered") == 0
    assert value(after, "rt_parcels_active", carrier="sandbox", status="in_transit") == 1
    assert value(after, "rt_parcels_stuck", carrier="sandbox") == 1
    assert ("rt_parcels_stuck", frozenset({("carrier", "dhl")})) in after  # zero, not absent
    assert value(after, "rt_parcels_stuck", carrier="dhl") == 0
    # the customer's next step was due a day after 09:30; it is ten days later now
    assert value(after, "rt_incidents_next_step_overdue", type="delay") == 1
    assert value(after, "rt_incidents_next_step_overdue", type="damaged") == 0
    first_response = "rt_incident_time_to_first_response_seconds"
    assert value(after, f"{first_response}_count") == 1
    assert value(after, f"{first_response}_sum") == pytest.approx(1800, abs=1)
    assert value(after, f"{first_response}_bucket", le="900.0") == 0
    assert value(after, f"{first_response}_bucket", le="1800.0") == 1
    resolution = "rt_incident_time_to_resolution_seconds"
    assert value(after, f"{resolution}_sum") == pytest.approx(7200, abs=1)
    assert value(after, f"{resolution}_bucket", le="3600.0") == 0
    assert value(after, f"{resolution}_bucket", le="14400.0") == 1
    assert value(after, f"{resolution}_bucket", le="+Inf") == 1
    assert value(after, "rt_webhook_queue_depth") == 0
    assert value(after, "rt_metrics_snapshot_timestamp_seconds") == clock.now.timestamp()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("rt_carrier_polls_total", carrier="sandbox", outcome="ok") == 2
    assert delta("rt_carrier_poll_duration_seconds_count", carrier="sandbox") == 2
    assert delta("rt_carrier_tracking_results_total", carrier="sandbox", outcome="found") == 2
    transitions = "/v1/incidents/{incident_id}/transitions"
    assert (
        delta("rt_http_requests_total", method="POST", route=transitions, status_class="2xx") == 1
    )
    assert delta("rt_http_requests_total", method="GET", route="unmatched", status_class="4xx") == 1
    assert delta("rt_http_request_duration_seconds_count", method="POST", route=transitions) == 1
    assert value(after, "rt_carrier_breaker_state", carrier="ups", state="closed") == 1
    assert value(after, "rt_carrier_breaker_state", carrier="ups", state="open") == 0
    assert value(after, "rt_carrier_configured", carrier="sandbox") == 1


def test_labels_never_carry_ids_tracking_numbers_or_urls(
    api: ApiClient, client: TestClient
) -> None:
    parcel = register(api)
    incident = open_incident(api, parcel["id"]).json()
    api.get(f"/v1/incidents/{incident['id']}")
    api.get(f"/v1/parcels/{parcel['id']}?x={UPS_NUMBERS[0]}")

    samples = scrape(client)

    labels = {v for _name, pairs in samples for _key, v in pairs}
    assert "/v1/incidents/{incident_id}" in labels
    assert not [v for v in labels if _UUID.search(v) or UPS_NUMBERS[0] in v or "://" in v]


def test_webhook_backlog_comes_from_the_deliveries_table(
    client: TestClient, db: Database, clock: FakeClock
) -> None:
    new_api_key(db, tenant="acme")
    with db.session() as session:
        tenant = session.exec(select(Tenant)).one()
        endpoint = WebhookEndpoint(
            tenant_id=tenant.id,
            url="https://hooks.example.com/rt",
            event_types="*",
            enabled=False,
            secret_encrypted="not-used-here",
        )
        session.add(endpoint)
        for minutes_ago, status in ((90, "pending"), (10, "pending"), (300, "delivered")):
            created = clock.now - timedelta(minutes=minutes_ago)
            evt = Event(
                tenant_id=tenant.id, type="incident.opened", occurred_at=created, payload="{}"
            )
            session.add(evt)
            session.flush()
            session.add(
                WebhookDelivery(
                    tenant_id=tenant.id,
                    endpoint_id=endpoint.id,
                    event_id=evt.id,
                    event_type=evt.type,
                    occurred_at=created,
                    status=status,
                    created_at=created,
                )
            )
        session.commit()

    samples = scrape(client)

    assert value(samples, "rt_webhook_queue_depth") == 2
    assert value(samples, "rt_webhook_deliveries", status="pending") == 2
    assert value(samples, "rt_webhook_deliveries", status="delivered") == 1
    assert value(samples, "rt_webhook_deliveries", status="failed") == 0
    assert value(samples, "rt_webhook_oldest_pending_age_seconds") == pytest.approx(5400, abs=1)


def test_a_scrape_costs_one_query_and_the_cache_serves_the_next_ones(
    api: ApiClient, app: FastAPI, client: TestClient, db: Database, clock: FakeClock
) -> None:
    ticks = [0.0]
    app.state.metrics_snapshot_cache = SnapshotCache(
        db, ttl_seconds=15, clock=clock, monotonic=lambda: ticks[0]
    )
    open_incident(api, register(api)["id"])
    selects: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        first = scrape(client)
        open_incident(api, register(api, order_id="SO-2", tracking_number=UPS_NUMBERS[1])["id"])
        selects.clear()
        ticks[0] = 14.0
        cached = scrape(client)
        assert selects == []  # served from the cache: the database was not asked
        ticks[0] = 15.5
        fresh = scrape(client)
        assert len(selects) == 1
        assert "UNION ALL" in selects[0]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    opened = ("rt_incidents_opened_total", frozenset({("type", "delay"), ("source", "customer")}))
    assert (first[opened], cached[opened], fresh[opened]) == (1, 1, 2)


@pytest.mark.parametrize("token_set", [True, False])
def test_the_scrape_token_guards_metrics_and_api_keys_never_open_it(
    db: Database, clock: FakeClock, settings: Settings, token_set: bool
) -> None:
    token = "scrape-" + uuid.uuid4().hex
    app = create_app(
        settings.model_copy(update={"metrics_token": SecretStr(token) if token_set else None}),
        database=db,
        clock=clock,
    )
    api_key = new_api_key(db, tenant="acme")
    with TestClient(app) as client:
        anonymous = client.get("/metrics")
        with_api_key = client.get("/metrics", headers={"Authorization": f"Bearer {api_key}"})
        with_token = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})

    if token_set:
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert "RT_METRICS_TOKEN" in anonymous.json()["detail"]
        assert with_api_key.status_code == 401
        assert with_token.status_code == 200
    else:
        assert anonymous.status_code == with_api_key.status_code == with_token.status_code == 200


def test_the_dashboard_and_alert_rules_use_only_metrics_we_export(client: TestClient) -> None:
    exported: set[str] = set()
    for family in text_string_to_metric_families(client.get("/metrics").text):
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
        exported |= {family.name, *(family.name + s for s in suffixes.get(family.type, []))}
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    dashboard = json.loads((deploy / "grafana" / "resolution-tracker.json").read_text())
    queries = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    lines = (deploy / "prometheus" / "alerts.yml").read_text().splitlines()
    rules = "\n".join(line for line in lines if not line.lstrip().startswith("#"))

    used_by_dashboard = set(re.findall(r"\brt_[a-z_]+", queries))
    used_by_rules = set(re.findall(r"\brt_[a-z_]+", rules))

    assert used_by_dashboard - exported == set()
    assert used_by_rules - exported == set()
    assert {"rt_parcels_stuck", "rt_webhook_oldest_pending_age_seconds"} <= used_by_rules
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
