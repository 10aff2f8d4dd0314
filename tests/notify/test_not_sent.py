"""Messages that must not go out: no address, sending off, a customer who wants no notices.

Decided when the message is queued, and again when the job is about to send it.
"""

from __future__ import annotations

from sqlmodel import update

from app.core.settings import Settings
from app.db.engine import Database
from app.parcels.models import Parcel
from app.workflow.messages.delivery import NO_ADDRESS, OPTED_OUT, SENDING_OFF
from app.workflow.messages.models import CustomerMessage
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.jobs import run_job
from tests.mail_server import MailServer
from tests.notify.helpers import (
    customer,
    delivery_entries,
    delivery_states,
    message,
    new_incident,
    queue_notice,
    send,
    tick,
)


def test_a_customer_without_an_address_gets_nothing_and_the_reason_is_recorded(
    api: ApiClient, db: Database, smtp_server: MailServer
) -> None:
    incident = new_incident(api, customer=customer(None))

    answered = send(api, incident)

    assert (answered["delivery"], answered["delivery_error"]) == ("not_sent", NO_ADDRESS)
    assert answered["email_to"] is None
    assert delivery_entries(api, incident) == [
        "E-mail to the customer not sent: the customer has no e-mail address"
    ]
    assert delivery_states(db) == ["not_sent"]
    assert run_job(api, "deliver-messages")["claimed"] == 0
    assert smtp_server.received == []


def test_with_sending_off_a_message_is_not_sent_and_the_job_does_nothing(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    incident = new_incident(api)
    queued = send(api, incident)  # queued while RT_SMTP_HOST was set
    settings.smtp_host = None  # the operator turns sending off

    answered = send(api, incident)

    assert (answered["delivery"], answered["delivery_error"]) == ("not_sent", SENDING_OFF)
    assert run_job(api, "deliver-messages") == {}
    assert message(api, queued)["delivery"] == "queued"  # waits for sending to be on again
    assert smtp_server.received == []


def test_a_customer_who_opted_out_gets_no_notice_but_still_the_answer_to_a_complaint(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    incident = new_incident(api, customer=customer("maria@example.com", proactive_notices=False))
    assert incident["customer"]["proactive_notices"] is False

    notice = queue_notice(db, settings, clock, incident["parcel_id"], incident["id"])
    reply = send(api, incident)

    assert (notice.delivery, notice.delivery_error) == ("not_sent", OPTED_OUT)
    assert reply["delivery"] == "queued"
    clock.advance(seconds=5)
    assert run_job(api, "deliver-messages")["sent"] == 1
    assert [r["Message-ID"] for r in smtp_server.received] == [reply["email_message_id"]]


def test_a_customer_who_opts_out_while_a_notice_waits_does_not_get_it(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    incident = new_incident(api)
    notice = queue_notice(db, settings, clock, incident["parcel_id"], incident["id"])
    reply = send(api, incident)
    assert notice.delivery == "queued"

    opted_out = api.patch(
        f"/v1/parcels/{incident['parcel_id']}", json={"customer": {"proactive_notices": False}}
    )
    assert opted_out.status_code == 200, opted_out.text
    assert opted_out.json()["customer"]["proactive_notices"] is False
    clock.advance(seconds=5)
    counts = run_job(api, "deliver-messages")

    assert (counts["not_sent"], counts["sent"]) == (1, 1)
    assert [r["Message-ID"] for r in smtp_server.received] == [reply["email_message_id"]]
    queue_id = message(api, reply)["smtp_queue_id"]
    assert set(delivery_entries(api, incident)[-2:]) == {
        "E-mail to the customer not sent: the customer asked for no proactive notices",
        f"E-mail to the customer sent (SMTP queue id {queue_id})",
    }


def test_an_address_removed_while_the_message_waits_is_not_written_to(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    parcel = register_parcel(api)
    notice = queue_notice(db, settings, clock, parcel["id"])  # a notice outside any incident
    with db.unit_of_work() as session:  # the seller erased the customer's personal data
        session.execute(update(Parcel).values(customer_email=None))
    clock.advance(seconds=5)

    counts = tick(db, settings, clock)

    assert counts["not_sent"] == 1
    with db.session() as session:
        stored = session.get(CustomerMessage, notice.id)
        assert stored is not None
        assert (stored.delivery, stored.delivery_error) == ("not_sent", NO_ADDRESS)
    assert delivery_states(db) == ["queued", "not_sent"]
    assert smtp_server.received == []
