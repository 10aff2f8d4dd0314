"""Stories of e-mail to the customer: queued with the message, sent by the job, read by a real
SMTP server; refused, retried, never lost."""

from __future__ import annotations

from app.db.engine import Database
from tests.factories import ApiClient, FakeClock
from tests.jobs import events, run_job
from tests.mail_server import MailServer, body_of
from tests.notify.helpers import delivery_entries, delivery_states, message, new_incident, send


def test_a_delay_notice_reaches_the_customer_in_german_from_the_tenants_sender(
    api: ApiClient, db: Database, smtp_server: MailServer, clock: FakeClock
) -> None:
    sender = {
        "sender_name": "Acme Kundenservice",
        "from_address": "care@acme.example",
        "reply_to": "help@acme.example",
    }
    assert api.put("/v1/settings/sender", json=sender).status_code == 200
    incident = new_incident(api)

    queued = send(api, incident)

    assert queued["delivery"] == "queued"
    assert queued["email_to"] == "maria.schmidt@example.com"
    assert smtp_server.received == []  # nothing leaves inside the request
    clock.advance(seconds=5)  # the next tick
    counts = run_job(api, "deliver-messages")
    assert (counts["claimed"], counts["sent"]) == (1, 1)

    [received] = smtp_server.received
    mail = received.message
    assert received.rcpt_tos == ("maria.schmidt@example.com",)
    assert received.mail_from == "care@tracker.example"  # bounces reach the service's mailbox
    assert mail["From"] == "Acme Kundenservice <care@acme.example>"
    assert mail["Reply-To"] == "help@acme.example"
    assert mail["To"] == "maria.schmidt@example.com"
    assert mail["Subject"] == "Ihre Bestellung SO-10023 verspätet sich: der Grund"
    assert mail["Content-Language"] == "de"
    assert mail["Message-ID"] == queued["email_message_id"]
    assert mail["In-Reply-To"] is None  # the incident's first e-mail starts its thread
    assert mail["List-Unsubscribe"] is None  # a reply to the customer's complaint
    assert mail.get_content_type() == "multipart/alternative"
    text = body_of(mail, "plain")
    html = body_of(mail, "html")
    assert "In dieser Jahreszeit befördern die Paketdienste weit mehr Sendungen" in text
    assert "<p>Hallo Maria Schmidt,</p>" in html
    assert '<html lang="de">' in html

    sent = message(api, queued)
    assert sent["delivery"] == "sent"
    assert sent["smtp_queue_id"] == f"2.0.0 Ok: queued as {received.queue_id}"
    assert (sent["delivery_attempts"], sent["delivery_error"]) == (1, None)
    assert delivery_entries(api, incident) == [
        "E-mail to the customer queued",
        f"E-mail to the customer sent (SMTP queue id 2.0.0 Ok: queued as {received.queue_id})",
    ]
    changes = events(db, "message.delivery_changed")
    assert [(e["payload"]["previous"], e["payload"]["message"]["delivery"]) for e in changes] == [
        (None, "queued"),
        ("queued", "sent"),
    ]
    assert changes[1]["payload"]["message"]["smtp_queue_id"] == sent["smtp_queue_id"]
    assert run_job(api, "deliver-messages") == {"claimed": 0, "connections": 0}


def test_a_second_message_in_the_incident_continues_the_thread(
    api: ApiClient, smtp_server: MailServer, clock: FakeClock
) -> None:
    incident = new_incident(api)
    first = send(api, incident)
    clock.advance(days=2)
    second = send(api, incident, params={"reason": "customs_screening"})
    run_job(api, "deliver-messages")

    by_id = {r["Message-ID"]: r.message for r in smtp_server.received}
    assert set(by_id) == {first["email_message_id"], second["email_message_id"]}
    follow_up = by_id[second["email_message_id"]]
    assert follow_up["In-Reply-To"] == first["email_message_id"]
    assert follow_up["References"] == first["email_message_id"]
    assert message(api, second)["in_reply_to"] == first["email_message_id"]


def test_a_refused_recipient_fails_at_once_with_the_servers_reason(
    api: ApiClient, db: Database, smtp_server: MailServer, clock: FakeClock
) -> None:
    incident = new_incident(api, customer={"email": "refuse.me@example.com", "locale": "en"})
    queued = send(api, incident)
    clock.advance(seconds=5)

    counts = run_job(api, "deliver-messages")

    assert counts["failed"] == 1
    failed = message(api, queued)
    assert failed["delivery"] == "failed"
    assert failed["delivery_error"] == (
        "recipient refused: 550 5.1.1 <refuse.me@example.com>: Recipient address rejected: "
        "User unknown"
    )
    assert failed["delivery_attempts"] == 1
    assert delivery_entries(api, incident)[-1] == (
        f"E-mail to the customer failed: {failed['delivery_error']}"
    )
    assert delivery_states(db) == ["queued", "failed"]
    assert smtp_server.received == []


def test_a_busy_mailbox_is_tried_on_the_schedule_then_failed_with_the_last_reason(
    api: ApiClient, db: Database, smtp_server: MailServer, clock: FakeClock
) -> None:
    incident = new_incident(api, customer={"email": "busy@example.com", "locale": "en"})
    queued = send(api, incident)
    reason = "recipient refused: 450 4.2.1 <busy@example.com>: Mailbox busy, try again later"

    assert run_job(api, "deliver-messages")["retrying"] == 1
    waiting = message(api, queued)
    assert (waiting["delivery"], waiting["delivery_attempts"]) == ("queued", 1)
    assert waiting["delivery_error"] == reason
    clock.advance(seconds=59)
    assert run_job(api, "deliver-messages")["claimed"] == 0  # the first retry waits 60 s
    clock.advance(seconds=1)
    assert run_job(api, "deliver-messages")["retrying"] == 1
    clock.advance(seconds=300)
    assert run_job(api, "deliver-messages")["failed"] == 1

    failed = message(api, queued)
    assert failed["delivery"] == "failed"
    assert failed["delivery_attempts"] == 3
    assert failed["delivery_error"] == f"{reason} (gave up after 3 attempts)"
    assert delivery_states(db) == [
        "queued",
        "failed",
    ]  # retries change no state: no event, no entry
    assert len(delivery_entries(api, incident)) == 2


def test_while_the_server_is_down_the_message_waits_and_goes_out_when_it_is_back(
    api: ApiClient, smtp_server: MailServer, clock: FakeClock
) -> None:
    incident = new_incident(api)
    queued = send(api, incident)
    smtp_server.stop()

    assert run_job(api, "deliver-messages")["retrying"] == 1
    waiting = message(api, queued)
    assert waiting["delivery"] == "queued"
    assert "Connect call failed" in waiting["delivery_error"]

    smtp_server.start()
    clock.advance(seconds=60)
    assert run_job(api, "deliver-messages")["sent"] == 1
    sent = message(api, queued)
    assert (sent["delivery"], sent["delivery_attempts"]) == ("sent", 2)
    assert [r["Message-ID"] for r in smtp_server.received] == [queued["email_message_id"]]


def test_a_server_that_stays_down_fails_the_message_after_the_last_retry(
    api: ApiClient, smtp_server: MailServer, clock: FakeClock
) -> None:
    incident = new_incident(api)
    queued = send(api, incident)
    smtp_server.stop()

    for wait in (0, 60, 300):
        clock.advance(seconds=wait)
        run_job(api, "deliver-messages")

    failed = message(api, queued)
    assert failed["delivery"] == "failed"
    assert failed["delivery_error"].endswith("(gave up after 3 attempts)")
    assert "Connect call failed" in failed["delivery_error"]
