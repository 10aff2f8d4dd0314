"""The e-mail a message becomes: headers and parts, built without any I/O."""

from __future__ import annotations

import email
import email.message
import email.policy
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from app.notify.email import SenderIdentity, build_email
from app.workflow.messages.models import CustomerMessage
from tests.mail_server import body_of

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
PARCEL = uuid.UUID("5b0c7d2e-8f7a-4c61-9f0e-2d4b6a8c1e35")
SENDER = SenderIdentity(name="Acme Kundenservice", address="care@acme.example")


def built(*args: Any, **kwargs: Any) -> email.message.EmailMessage:
    """The e-mail as a mail client reads the bytes we send."""
    wire = build_email(*args, **kwargs)
    assert b"\n" not in wire.replace(b"\r\n", b"")  # CRLF line ends, as SMTP wants
    # a mail client reads CRLF as line ends
    parsed = email.message_from_bytes(wire.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def queued(**overrides: Any) -> CustomerMessage:
    values: dict[str, Any] = {
        "tenant_id": uuid.uuid4(),
        "parcel_id": PARCEL,
        "direction": "out",
        "channel": "email",
        "language": "de",
        "subject": "Ihre Bestellung SO-10023 verspätet sich",
        "body": "Hallo Maria,\n\nes tut uns leid.",
        "body_html": "<p>Hallo Maria,</p>\n<p>es tut uns leid.</p>",
        "summary": "Ihre Bestellung SO-10023 verspätet sich",
        "actor_type": "system",
        "actor_name": "system",
        "email_to": "maria.schmidt@example.com",
        "email_message_id": "<0f3a@tracker.example>",
        "delivery": "queued",
    }
    return CustomerMessage(**(values | overrides))


def test_a_reply_has_both_parts_and_the_headers_a_mail_client_needs() -> None:
    mail = built(queued(), sender=SENDER, now=NOW)

    assert mail["From"] == "Acme Kundenservice <care@acme.example>"
    assert mail["To"] == "maria.schmidt@example.com"
    assert mail["Subject"] == "Ihre Bestellung SO-10023 verspätet sich"
    assert mail["Date"] == "Thu, 12 Mar 2026 09:30:00 +0000"
    assert mail["Message-ID"] == "<0f3a@tracker.example>"
    assert mail["Content-Language"] == "de"
    for absent in ("Reply-To", "In-Reply-To", "References", "List-Unsubscribe", "Auto-Submitted"):
        assert mail[absent] is None, absent
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert body_of(mail, "plain") == "Hallo Maria,\n\nes tut uns leid."
    html = body_of(mail, "html")
    assert html.startswith('<!DOCTYPE html>\n<html lang="de">')
    assert "<title>Ihre Bestellung SO-10023 verspätet sich</title>" in html
    assert "<p>Hallo Maria,</p>\n<p>es tut uns leid.</p>" in html


def test_the_wire_form_encodes_a_non_ascii_name_and_parses_back() -> None:
    sender = SenderIdentity(name="Müller & Söhne", address="care@acme.example")

    wire = build_email(queued(), sender=sender, now=NOW)

    assert b"=?utf-8?" in wire  # the name is an encoded word: 7-bit headers
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    [address] = parsed["From"].addresses
    assert (address.display_name, address.addr_spec) == ("Müller & Söhne", "care@acme.example")
    assert parsed["Subject"] == "Ihre Bestellung SO-10023 verspätet sich"


def test_a_follow_up_names_the_message_it_follows_and_answers_go_to_the_reply_to() -> None:
    sender = SenderIdentity(name=None, address="care@acme.example", reply_to="help@acme.example")

    mail = built(queued(in_reply_to="<first@tracker.example>"), sender=sender, now=NOW)

    assert mail["From"] == "care@acme.example"
    assert mail["Reply-To"] == "help@acme.example"
    assert mail["In-Reply-To"] == "<first@tracker.example>"
    assert mail["References"] == "<first@tracker.example>"


@pytest.mark.parametrize(
    ("reply_to", "mailbox"),
    [("help@acme.example", "help@acme.example"), (None, "care@acme.example")],
)
def test_a_proactive_notice_can_be_unsubscribed_by_mail(reply_to: str | None, mailbox: str) -> None:
    sender = SenderIdentity(name="Acme", address="care@acme.example", reply_to=reply_to)

    mail = built(queued(proactive=True), sender=sender, now=NOW)

    assert mail["List-Unsubscribe"] == (f"<mailto:{mailbox}?subject=unsubscribe%20{PARCEL}>")
    assert mail["Auto-Submitted"] == "auto-generated"


def test_free_text_without_html_or_subject_is_one_plain_part_under_its_summary() -> None:
    message = queued(subject=None, body_html=None, language=None, summary="Kurze Frage")

    mail = built(message, sender=SENDER, now=NOW)

    assert mail.get_content_type() == "text/plain"
    assert mail["Subject"] == "Kurze Frage"
    assert mail["Content-Language"] is None


def test_only_a_queued_message_is_built() -> None:
    with pytest.raises(ValueError, match="only a queued message"):
        built(queued(email_to=None), sender=SENDER, now=NOW)
