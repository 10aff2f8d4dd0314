"""A subject that would forge headers never reaches the wire: refused at the API, and a stored
one (written before the check) makes its message not_sent without stopping anyone else's."""

from __future__ import annotations

import uuid

from sqlmodel import update

from app.db.engine import Database
from app.workflow.messages.models import CustomerMessage
from tests.factories import ApiClient, FakeClock
from tests.jobs import run_job
from tests.mail_server import MailServer
from tests.notify.helpers import message, new_incident, send


def test_a_subject_with_a_line_break_is_refused_naming_the_field(api: ApiClient) -> None:
    incident = new_incident(api)

    refused = api.post(
        f"/v1/incidents/{incident['id']}/messages",
        json={
            "channel": "email",
            "text": "Hallo",
            "subject": "Hi\nBcc: x@example.com",
            "send": True,
        },
    )

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "subject" in refused.text


def test_a_stored_subject_with_a_line_break_is_not_sent_and_the_others_go_out(
    api: ApiClient, db: Database, clock: FakeClock, smtp_server: MailServer
) -> None:
    incident = new_incident(api)
    forged = send(api, incident)
    fine = send(api, incident)
    with db.session() as session:
        session.execute(
            update(CustomerMessage)
            .where(CustomerMessage.id == uuid.UUID(forged["id"]))  # type: ignore[arg-type]
            .values(subject="Hi\r\nBcc: x@example.com")
        )
        session.commit()
    clock.advance(seconds=5)

    counts = run_job(api, "deliver-messages")

    assert (counts["sent"], counts["not_sent"]) == (1, 1)
    assert message(api, fine)["delivery"] == "sent"
    refused = message(api, forged)
    assert refused["delivery"] == "not_sent"
    assert refused["delivery_error"].startswith("the e-mail cannot be built")
    [received] = smtp_server.received
    assert received.message["Bcc"] is None
