"""Soak: two API replicas and two schedulers on one PostgreSQL, 2,000 parcels, a flaky receiver.

The fake carrier plays UPS and FedEx parcels that move, were delivered, are held in customs or
went quiet 15 days ago, and a DHL that never answers (each call times out). Parcels are
registered over HTTP through both replicas while both schedulers poll, judge and deliver.
Once the system is quiescent:

- every due parcel was polled, and holds the status its carrier reported;
- every stalled parcel has exactly one open incident, and nothing else has one; the DHL
  parcels, pushed a scan 15 days old, have none: we could not ask their carrier;
- one ``incident.opened`` per incident, one ``parcel.stuck`` per stalled parcel;
- every event reached the receiver with a valid signature; a duplicate only where the
  dispatcher recorded a failed attempt (at least once, never a loss);
- every incident's timeline verifies through the API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.tenancy import generate_secret
from app.db.engine import Database
from bench.fake_carrier import STALLED_DAYS
from tests.system import checks
from tests.system.conftest import SECRET_KEY
from tests.system.processes import (
    Processes,
    carrier_env,
    rt_env,
    wait_for,
    wait_listening,
    wait_ready,
)
from tests.system.service import (
    SILENT_CARRIER,
    PlannedParcel,
    Service,
    old_scan,
    plan,
    scenario_prefixes,
)
from tests.system.webhook_log import FlakyReceiver, attempts_by_webhook_id, event_ids

SEED = 20261123
PARCELS = {
    ("ups", "in_transit"): 400,
    ("ups", "delivered"): 250,
    ("ups", "stalled"): 200,
    ("ups", "customs"): 150,
    ("fedex", "in_transit"): 300,
    ("fedex", "delivered"): 200,
    ("fedex", "stalled"): 200,
    ("fedex", "customs"): 100,
    ("dhl", "silent"): 100,
}
STATUS_OF = {
    "in_transit": "in_transit",
    "delivered": "delivered",
    "stalled": "in_transit",
    "customs": "customs_hold",
}
WEBHOOK_TIMEOUT = 2.0
QUIESCENT_WITHIN = 150.0  # a hard stop; the run takes about a minute


def _env(database_url: str, data_dir: Path, key: str, carrier_url: str) -> dict[str, str]:
    return rt_env(
        database_url,
        data_dir,
        secret_key=SECRET_KEY,
        bootstrap_api_key=key,
        log_level="WARNING",
        poll_interval_seconds=1,
        detect_interval_seconds=1,
        overdue_interval_seconds=5,
        webhook_dispatch_interval_seconds=1,
        webhook_allow_http=True,
        webhook_allow_private_networks=True,
        webhook_timeout_seconds=WEBHOOK_TIMEOUT,
        webhook_retry_schedule=[0.1, 0.2, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        webhook_lease_seconds=30,
        webhook_concurrency=32,
    ) | carrier_env(carrier_url)


@pytest.mark.postgres_only
def test_two_replicas_and_two_schedulers_soak(
    fresh_database_url: str, fresh_db: Database, processes: Processes, tmp_path: Path
) -> None:
    parcels = plan(PARCELS, seed=SEED)
    silent = [p for p in parcels if p.carrier == SILENT_CARRIER]
    polled = [p for p in parcels if p.carrier != SILENT_CARRIER]
    key = generate_secret()
    flaky = FlakyReceiver(seed=SEED, ok_share=0.75, late_seconds=WEBHOOK_TIMEOUT + 0.5)
    with flaky.receiver:
        fake = processes.fake_carrier(
            {
                "RT_FAKE_CARRIER_SCENARIOS": json.dumps(scenario_prefixes()),
                "RT_FAKE_CARRIER_LATENCY": "0.02",
            }
        )
        env = _env(fresh_database_url, tmp_path, key, fake.url)
        apis = [processes.api("api-1", env), processes.api("api-2", env)]
        wait_listening(processes, fake)
        wait_ready(processes, *apis)
        service = Service([api.url for api in apis], key)
        _, secret = service.subscribe(flaky.receiver.url("/soak"))
        # DHL first, then the schedulers: their first poll ticks claim every DHL parcel, so
        # the carrier's timeouts (4 attempts of 10 s) are waited out once, while the rest
        # registers, and no DHL parcel is left for a later tick to wait on again
        silent_ids = service.register(silent)
        for i, parcel_id in enumerate(silent_ids):
            pushed = service.post(f"/v1/parcels/{parcel_id}/scans", old_scan(STALLED_DAYS), i=i)
            assert pushed.status_code == 200, pushed.text
        processes.scheduler("scheduler-1", env)
        processes.scheduler("scheduler-2", env)
        service.register(polled, offset=len(silent))

        wait_for(
            lambda: checks.quiescent(fresh_db, len(parcels), silent_carrier=SILENT_CARRIER),
            timeout=QUIESCENT_WITHIN,
            what=lambda: f"quiescence, {checks.progress(fresh_db, silent_carrier=SILENT_CARRIER)}",
            processes=processes,
        )
        assert all(child.alive() for child in processes.children), processes.logs()
        incidents = _assert_parcels_and_incidents(fresh_db, parcels)
        _assert_every_event_delivered(fresh_db, flaky, secret)
        for i, incident_id in enumerate(incidents):
            verdict = service.get(f"/v1/incidents/{incident_id}/timeline/verify", i=i)
            assert verdict.status_code == 200, verdict.text
            assert verdict.json()["valid"] is True, verdict.json()
            assert verdict.json()["entries"] >= 1
        service.close()


def _assert_parcels_and_incidents(db: Database, parcels: list[PlannedParcel]) -> list[str]:
    """Parcels polled and judged as planned; the ids of the incidents opened."""
    stored = checks.parcels_by_number(db)
    assert len(stored) == len(parcels)
    for parcel in parcels:
        _, _, carrier, status, last_polled_at, poll_error = stored[parcel.tracking_number]
        assert carrier == parcel.carrier
        if parcel.carrier == SILENT_CARRIER:
            assert last_polled_at is None, parcel
            assert "timed out" in (poll_error or ""), (parcel, poll_error)
            assert status == "in_transit"  # the pushed scan, nothing from the carrier
        else:
            assert last_polled_at is not None, parcel
            assert status == STATUS_OF[parcel.scenario], (parcel, status)

    stalled = {p.tracking_number for p in parcels if p.scenario == "stalled"}
    # FedEx's customs hold asks the recipient for information: a customs incident at once;
    # UPS's waits for a government agency, which needs nobody yet
    asked = {p.tracking_number for p in parcels if (p.carrier, p.scenario) == ("fedex", "customs")}
    per_parcel = checks.open_incidents_per_parcel(db)
    assert set(per_parcel) == stalled | asked  # none for moving, delivered or DHL parcels
    assert set(per_parcel.values()) == {1}
    incidents = checks.rows(db, "SELECT id, source, type, status FROM incidents")
    assert len(incidents) == len(stalled) + len(asked)
    assert {(source, type_, status) for _, source, type_, status in incidents} == {
        ("auto", "delay", "open"),
        ("auto", "customs", "open"),
    }
    dhl_state = checks.rows(db, "SELECT available FROM carrier_states WHERE carrier = 'dhl'")
    assert dhl_state == [(False,)]
    carrier_scans = checks.rows(
        db,
        "SELECT count(*) FROM scans s JOIN parcels p ON p.id = s.parcel_id "
        "WHERE p.carrier = 'dhl' AND s.source = 'carrier'",
    )
    assert carrier_scans == [(0,)]

    opened = checks.events_per(db, "incident.opened", "incident_id")
    assert set(opened) == {str(row[0]) for row in incidents}
    assert set(opened.values()) == {1}
    stuck = checks.events_per(db, "parcel.stuck", "parcel_id")
    stalled_ids = {str(stored[number][1]) for number in stalled}
    assert set(stuck) == stalled_ids
    assert set(stuck.values()) == {1}
    return [str(row[0]) for row in incidents]


def _assert_every_event_delivered(db: Database, flaky: FlakyReceiver, secret: str) -> None:
    events = event_ids(db)
    by_id = attempts_by_webhook_id(db)
    accepted = flaky.accepted()
    assert set(by_id) == events  # every event has its delivery row for the endpoint
    assert {status for status, _, _ in by_id.values()} == {"delivered"}
    assert set(accepted) == events  # ... and the receiver took every one of them
    for message_id, (_, attempts, successes) in by_id.items():
        assert successes == 1, (message_id, successes)
        # taken twice only after an attempt the dispatcher saw fail (a late 200): at least once
        assert accepted[message_id] <= attempts, (message_id, accepted[message_id], attempts)
    assert flaky.bad_signatures(secret) == []
    # the flaky receiver did make the dispatcher retry, including after late answers
    assert len(flaky.answers) > len(events)
    assert any(answer.reply.delay for answer in flaky.answers)
