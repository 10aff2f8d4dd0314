"""The job against the SMTP server: reused connections, STARTTLS and AUTH, slow servers,
crashes between sending and recording, and two senders at once."""

from __future__ import annotations

import threading
from collections import Counter

import anyio
import pytest
from pydantic import SecretStr

from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.db.engine import Database
from app.notify.job import lease
from app.notify.sender import envelope_sender
from app.notify.smtp import Mailer
from app.workflow.messages.models import CustomerMessage
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.mail_server import MailServer
from tests.notify.helpers import queue_notice, tick


def _stored(db: Database, notice: CustomerMessage) -> CustomerMessage:
    with db.session() as session:
        stored = session.get(CustomerMessage, notice.id)
        assert stored is not None
        return stored


def test_one_connection_carries_many_messages(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    parcel = register_parcel(api)
    for _ in range(5):
        queue_notice(db, settings, clock, parcel["id"])
    clock.advance(seconds=5)

    counts = tick(db, settings.model_copy(update={"message_concurrency": 1}), clock)

    assert (counts["sent"], counts["connections"]) == (5, 1)
    assert len({r.peer for r in smtp_server.received}) == 1


def test_several_connections_share_the_work_up_to_the_concurrency(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    parcel = register_parcel(api)
    for _ in range(12):
        queue_notice(db, settings, clock, parcel["id"])
    clock.advance(seconds=5)
    smtp_server.data_delay = 0.02  # slow enough that every worker gets a share

    counts = tick(db, settings.model_copy(update={"message_concurrency": 3}), clock)

    assert (counts["sent"], counts["connections"]) == (12, 3)
    assert len({r.peer for r in smtp_server.received}) == 3


def test_starttls_and_login_when_configured(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock
) -> None:
    parcel = register_parcel(api)
    with MailServer(tls=True, users={"tracker": "s3cret"}) as secure:
        secured = settings.model_copy(
            update={
                "smtp_port": secure.port,
                "smtp_starttls": True,
                "smtp_username": "tracker",
                "smtp_password": SecretStr("wrong"),
            }
        )
        notice = queue_notice(db, secured, clock, parcel["id"])
        clock.advance(seconds=5)

        refused = tick(db, secured, clock, tls_context=secure.client_tls_context())
        assert refused["retrying"] == 1
        assert _stored(db, notice).delivery_error == (
            "SMTP login refused: 535 5.7.8 Authentication credentials invalid"
        )

        secured.smtp_password = SecretStr("s3cret")  # the operator fixes the password
        clock.advance(seconds=60)
        assert tick(db, secured, clock, tls_context=secure.client_tls_context())["sent"] == 1
        [received] = secure.received
        assert received.authenticated_as == "tracker"
        assert _stored(db, notice).delivery == "sent"


def test_a_server_that_does_not_answer_in_time_is_tried_again(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    parcel = register_parcel(api)
    notice = queue_notice(db, settings, clock, parcel["id"])
    clock.advance(seconds=5)
    smtp_server.data_delay = 1.0

    counts = tick(db, settings.model_copy(update={"smtp_timeout_seconds": 0.3}), clock)

    assert counts["retrying"] == 1
    stored = _stored(db, notice)
    assert stored.delivery == "queued"
    assert stored.delivery_error == "the SMTP server did not answer within 0.3 s"


def test_a_crash_after_sending_sends_again_after_the_lease_with_the_same_message_id(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    parcel = register_parcel(api)
    notice = queue_notice(db, settings, clock, parcel["id"])
    clock.advance(seconds=5)
    ctx = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=clock)

    async def send_then_crash() -> None:  # the process dies before it records the send
        [outgoing] = lease(ctx)
        assert outgoing.mail is not None
        async with Mailer(settings) as mailer:
            await mailer.send(
                outgoing.mail, sender=envelope_sender(settings), recipient=outgoing.recipient
            )

    anyio.run(send_then_crash)
    assert tick(db, settings, clock)["claimed"] == 0  # leased: nobody else touches it
    clock.advance(seconds=settings.message_lease_seconds + 1)
    assert tick(db, settings, clock)["sent"] == 1

    ids = [r["Message-ID"] for r in smtp_server.received]
    assert ids == [notice.email_message_id] * 2  # at least once: a mail client shows one
    assert _stored(db, notice).delivery == "sent"


def test_a_message_whose_lease_would_run_out_first_is_left_for_a_later_tick(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    parcel = register_parcel(api)
    notice = queue_notice(db, settings, clock, parcel["id"])
    clock.advance(seconds=5)
    careless = settings.model_copy(update={"message_lease_seconds": 2})  # < the 3 s timeout

    counts = tick(db, careless, clock)

    assert (counts["claimed"], counts["deferred"]) == (1, 1)
    assert _stored(db, notice).delivery == "queued"
    assert smtp_server.received == []


@pytest.mark.postgres_only
def test_two_ticks_at_once_never_send_a_message_twice(
    api: ApiClient, db: Database, settings: Settings, clock: FakeClock, smtp_server: MailServer
) -> None:
    parcel = register_parcel(api)
    notices = [queue_notice(db, settings, clock, parcel["id"]) for _ in range(40)]
    clock.advance(seconds=5)
    smtp_server.data_delay = 0.005
    small = settings.model_copy(update={"message_claim_size": 5, "message_concurrency": 2})
    totals: Counter[str] = Counter()
    claimed: list[int] = []
    start = threading.Barrier(2)

    def sender() -> None:
        start.wait()
        counts = tick(db, small, clock)
        totals.update(counts)
        claimed.append(counts["claimed"])

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    ids = Counter(r["Message-ID"] for r in smtp_server.received)
    assert sorted(ids) == sorted(str(n.email_message_id) for n in notices)
    assert set(ids.values()) == {1}
    assert (totals["sent"], totals["claimed"]) == (40, 40)
    assert min(claimed) > 0  # both really sent, side by side
    assert {_stored(db, n).delivery for n in notices} == {"sent"}
