"""The Communication Summary cell: what the seller wrote by hand, then every message, a line each.

"2026-03-10 → e-mail sent: Your order SO-1 is delayed": the day (UTC, like every time in the
sheet), the direction (→ to the customer, ← from them), the channel, what became of an e-mail
we send (queued, sent, failed, not sent), and the message's one-line summary. The lines list
the incident's own messages and the parcel's notices outside any incident, oldest first.

An import reads the whole cell back as the hand-written summary: the messages themselves are
not imported, so their lines stay with the incident as text. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.tracker_sheet.columns import utc_time
from app.workflow.messages.models import CustomerMessage

CHANNEL_WORDS = {"email": "e-mail"}
DELIVERY_WORDS = {"queued": "queued", "sent": "sent", "failed": "failed", "not_sent": "not sent"}


def message_line(message: CustomerMessage) -> str:
    arrow = "→" if message.direction == "out" else "←"
    how = " ".join(
        word
        for word in (
            CHANNEL_WORDS.get(message.channel, message.channel),
            DELIVERY_WORDS.get(message.delivery or ""),
        )
        if word
    )
    summary = " ".join(message.summary.split())
    return f"{utc_time(message.occurred_at):%Y-%m-%d} {arrow} {how}: {summary}"


def communication_cell(by_hand: str | None, messages: Sequence[CustomerMessage]) -> str | None:
    """The hand-written summary (as written), then one line per message, oldest first."""
    if not messages:
        return by_hand
    ordered = sorted(messages, key=lambda m: (m.occurred_at, str(m.id)))
    lines = [message_line(message) for message in ordered]
    return "\n".join([by_hand.rstrip(), *lines] if by_hand and by_hand.strip() else lines)
