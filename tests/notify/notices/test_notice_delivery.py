"""A notice from the request to the customers' inboxes, by day at each customer's."""

from __future__ import annotations

from datetime import UTC, datetime

from app.db.engine import Database
from tests.factories import ApiClient, FakeClock
from tests.jobs import run_job
from tests.mail_server import MailServer
from tests.notify.customers import HOLIDAY, customer, stored_messages


def _send(api: ApiClient, **body: object) -> dict[str, object]:
    response = api.post(
        "/v1/notices",
        json={
            "filter": {"carrier": "sandbox"},
            "template_key": "holiday_suspension",
            "params": HOLIDAY,
            "dry_run": False,
            **body,
        },
    )
    assert response.status_code == 201, response.text
    notice: dict[str, object] = response.json()
    return notice


def test_customers_get_the_notice_in_their_language_and_the_notice_counts_it(
    api: ApiClient, db: Database, smtp_server: MailServer, clock: FakeClock
) -> None:
    customer(api, 1, locale="de-DE", country="DE", name="Jürgen Weiß")
    customer(api, 2, locale="fr-FR", country="FR", name="Élodie Lefèvre")
    customer(api, 3, locale="en-GB", country="GB", name="Oliver Smith", email=False)
    notice = _send(api)
    clock.advance(seconds=5)

    counts = run_job(api, "deliver-messages")

    assert (counts["claimed"], counts["sent"]) == (2, 2)
    subjects = {r.rcpt_tos[0]: r.message["Subject"] for r in smtp_server.wait_for(2)}
    assert subjects == {
        "customer1@example.com": "Bestellung SO-0001: kurze Pause über die Feiertage "
        "(Spring Festival)",
        "customer2@example.com": "Commande SO-0002 : courte pause (congés : Spring Festival)",
    }
    read = api.get(f"/v1/notices/{notice['id']}").json()
    assert read["progress"] == {"queued": 0, "sent": 2, "failed": 0, "not_sent": 1}


def test_at_night_at_the_destination_a_notice_waits_for_the_morning(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    customer(api, 1, locale="en-US", country="US", name="Kim Lee")  # 05:30 in New York
    customer(api, 2, locale="de-DE", country="DE", name="Jürgen Weiß")  # 10:30 in Berlin

    polite = _send(api)
    urgent = _send(api, quiet_hours=False)  # out at once everywhere

    def due(notice: dict[str, object]) -> dict[str | None, datetime | None]:
        return {
            m.email_to: m.next_attempt_at
            for m in stored_messages(db)
            if str(m.notice_id) == notice["id"]
        }

    assert due(polite) == {
        "customer1@example.com": datetime(2026, 3, 12, 12, 0, tzinfo=UTC),  # 08:00 EDT
        "customer2@example.com": clock.now,
    }
    assert set(due(urgent).values()) == {clock.now}
