"""A scheduler process SIGKILLed in the middle of its ticks, three times, and restarted.

One API replica and one scheduler on PostgreSQL; the fake carrier answers slowly enough that
polling, detection and webhook delivery are all visibly under way when the kills come:

1. while parcels are leased by the poll job (claimed, being fetched or stored);
2. once detection has opened incidents, with webhook deliveries queued;
3. while webhook deliveries are leased by the dispatcher (sent, not yet recorded).

Each time a new scheduler process takes over. At the end the counts are exact: one open
incident per stalled parcel and none elsewhere, one ``incident.opened`` per incident, one
``parcel.stuck`` per stalled parcel, one ``parcel.status_changed`` per parcel, every event
delivered; the only extra is a webhook sent twice with the same ``webhook-id`` because the
killed process sent it and died before recording it (at least once), bounded by what one
dispatcher holds unrecorded per kill.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.tenancy import generate_secret
from app.db.engine import Database
from tests.system import checks
from tests.system.conftest import SECRET_KEY
from tests.system.processes import (
    Child,
    Processes,
    carrier_env,
    rt_env,
    wait_for,
    wait_listening,
    wait_ready,
)
from tests.system.service import PlannedParcel, Service, plan, scenario_prefixes
from tests.system.webhook_log import event_ids
from tests.webhooks.receiver import Receiver, Reply

SEED = 8
PARCELS = {
    ("ups", "stalled"): 100,
    ("ups", "in_transit"): 100,
    ("fedex", "stalled"): 100,
    ("fedex", "delivered"): 100,
}
WEBHOOK_CONCURRENCY = 8
STATE = """
    SELECT
        count(*) FILTER (WHERE last_polled_at IS NOT NULL) AS polled,
        count(*) FILTER (WHERE poll_lease_until > now()) AS polls_leased,
        (SELECT count(*) FROM incidents) AS incidents,
        (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS webhooks_pending,
        (SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered') AS delivered,
        (SELECT count(*) FROM webhook_deliveries
         WHERE status = 'pending' AND lease_until > now()) AS webhooks_leased
    FROM parcels
"""

State = dict[str, int]
# (name, reached(state when this process started, state now)): each asks for work done by
# the process about to be killed, not leftovers of the one killed before it
Moment = tuple[str, Callable[[State, State], bool]]
MOMENTS: list[Moment] = [
    ("polling", lambda was, now: now["polled"] > was["polled"] and now["polls_leased"] > 0),
    (
        "opening incidents",
        lambda was, now: now["incidents"] > was["incidents"] and now["webhooks_pending"] > 0,
    ),
    (
        "sending webhooks",
        lambda was, now: now["delivered"] > was["delivered"] and now["webhooks_leased"] > 0,
    ),
]
KILLS = len(MOMENTS)


def _env(database_url: str, data_dir: Path, key: str, carrier_url: str) -> dict[str, str]:
    return (
        rt_env(
            database_url,
            data_dir,
            secret_key=SECRET_KEY,
            bootstrap_api_key=key,
            log_level="WARNING",
            poll_interval_seconds=1,
            poll_claim_size=25,  # many small commits per tick: a kill lands between and inside them
            poll_lease_seconds=10,
            detect_interval_seconds=1,
            overdue_interval_seconds=5,
            webhook_dispatch_interval_seconds=1,
            webhook_allow_http=True,
            webhook_allow_private_networks=True,
            webhook_timeout_seconds=1,
            webhook_retry_schedule=[0.1, 0.2, 0.5, 1, 1],
            webhook_lease_seconds=3,
            webhook_claim_size=20,
            webhook_concurrency=WEBHOOK_CONCURRENCY,
        )
        | carrier_env(carrier_url)
        | {"RT_UPS_MAX_CONCURRENCY": "4"}
    )


def _state(db: Database) -> State:
    return dict(checks.rows(db, STATE)[0]._mapping)


@pytest.mark.postgres_only
def test_a_scheduler_killed_mid_tick_and_restarted_loses_and_doubles_nothing(
    fresh_database_url: str, fresh_db: Database, processes: Processes, tmp_path: Path
) -> None:
    parcels = plan(PARCELS, seed=SEED)
    key = generate_secret()
    with Receiver(lambda _: Reply(200, delay=0.05)) as receiver:
        fake = processes.fake_carrier(
            {
                "RT_FAKE_CARRIER_SCENARIOS": json.dumps(scenario_prefixes()),
                "RT_FAKE_CARRIER_LATENCY": "0.1",
            }
        )
        env = _env(fresh_database_url, tmp_path, key, fake.url)
        api = processes.api("api", env)
        wait_listening(processes, fake)
        wait_ready(processes, api)
        service = Service([api.url], key)
        service.subscribe(receiver.url("/kill"))
        service.register(parcels)
        service.close()

        at_kill: list[State] = []
        for moment in MOMENTS:
            victim = processes.scheduler("scheduler", env)
            _wait_until(fresh_db, processes, moment)
            _kill(processes, victim)
            at_kill.append(_state(fresh_db))
        processes.scheduler("scheduler", env)  # the last one runs to the end
        wait_for(
            lambda: checks.quiescent(fresh_db, len(parcels)),
            timeout=45,
            what=lambda: f"quiescence, {checks.progress(fresh_db)}",
            processes=processes,
        )
        received = Counter(r.webhook_id for r in receiver.requests)

    _assert_exact_counts(fresh_db, parcels)
    events = event_ids(fresh_db)
    assert set(received) == events, at_kill  # every event reached the receiver ...
    delivered = checks.rows(fresh_db, "SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")
    assert delivered == [("delivered", len(events))]
    leased = checks.rows(
        fresh_db,
        "SELECT (SELECT count(*) FROM webhook_deliveries WHERE lease_until IS NOT NULL), "
        "(SELECT count(*) FROM parcels WHERE poll_lease_until IS NOT NULL)",
    )
    assert leased == [(0, 0)]  # nothing left claimed by a dead process
    # ... and a few twice, under the same webhook-id: sent by a process killed before it
    # recorded the send. Per kill at most what a dispatcher holds unrecorded: the requests
    # in flight, the finished ones waiting for their record, and those being recorded.
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= KILLS * 3 * WEBHOOK_CONCURRENCY, (duplicates, at_kill)


def _wait_until(db: Database, processes: Processes, moment: Moment) -> None:
    name, reached = moment
    started = _state(db)
    wait_for(
        lambda: reached(started, _state(db)),
        timeout=30,
        what=lambda: f"{name}: {_state(db)}",
        processes=processes,
        interval=0.05,
    )


def _kill(processes: Processes, victim: Child) -> None:
    assert victim.alive(), victim.tail()
    processes.kill(victim)
    assert victim.process.returncode == -9


def _assert_exact_counts(db: Database, parcels: list[PlannedParcel]) -> None:
    stored = checks.parcels_by_number(db)
    stalled = {p.tracking_number for p in parcels if p.scenario == "stalled"}
    per_parcel = checks.open_incidents_per_parcel(db)
    assert set(per_parcel) == stalled
    assert set(per_parcel.values()) == {1}
    incidents = [str(row[0]) for row in checks.rows(db, "SELECT id FROM incidents")]
    assert len(incidents) == len(stalled)

    opened = checks.events_per(db, "incident.opened", "incident_id")
    assert sorted(opened) == sorted(incidents)
    assert set(opened.values()) == {1}
    stuck = checks.events_per(db, "parcel.stuck", "parcel_id")
    assert set(stuck) == {str(stored[number][1]) for number in stalled}
    assert set(stuck.values()) == {1}
    changed = checks.events_per(db, "parcel.status_changed", "parcel_id")
    assert set(changed) == {str(row[1]) for row in stored.values()}
    assert set(changed.values()) == {1}  # a parcel polled again after a kill: no new event

    # every parcel of a scenario has the same scans: none stored twice, none lost
    scans = checks.rows(
        db,
        "SELECT p.tracking_number, count(s.id) FROM parcels p "
        "LEFT JOIN scans s ON s.parcel_id = p.id GROUP BY p.tracking_number",
    )
    per_scenario: dict[tuple[str, str], set[int]] = {}
    scenario_of = {p.tracking_number: (p.carrier, p.scenario) for p in parcels}
    for number, count in scans:
        per_scenario.setdefault(scenario_of[number], set()).add(count)
    assert all(len(counts) == 1 and counts != {0} for counts in per_scenario.values()), per_scenario
