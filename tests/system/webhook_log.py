"""A flaky webhook receiver that remembers what it answered, and the at-least-once checks.

It is ``tests.webhooks.receiver.Receiver`` with a seeded behaviour: most requests get a 200,
the others a 500, a 503 with ``Retry-After: 1``, a reset connection, or a 200 sent only after
the dispatcher's timeout (the receiver has the event, the sender does not know it: the case
that makes a duplicate legitimate).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import text
from standardwebhooks import Webhook

from app.db.engine import Database
from tests.webhooks.receiver import Received, Receiver, Reply


def webhook_id(event_id: uuid.UUID) -> str:
    """The ``webhook-id`` header of an event (``app.webhooks.payloads.message_id``)."""
    return f"evt_{event_id.hex}"


@dataclass(frozen=True, slots=True)
class Answer:
    received: Received
    reply: Reply

    @property
    def accepted(self) -> bool:
        """The receiver took the event (a 2xx, possibly too late for the sender to count it)."""
        return 200 <= self.reply.status < 300 and not self.reply.reset


class FlakyReceiver:
    """Answers ``ok_share`` of requests with a prompt 200 and the rest with a failure."""

    def __init__(self, *, seed: int, ok_share: float, late_seconds: float) -> None:
        self._rng = random.Random(seed)
        self._ok_share = ok_share
        self._late = late_seconds
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self.receiver = Receiver(self._behave)

    def _behave(self, received: Received) -> Reply:
        roll = self._rng.random()
        failure = (roll - self._ok_share) / (1 - self._ok_share)
        if roll < self._ok_share:
            reply = Reply(200)
        elif failure < 0.4:
            reply = Reply(500, body=b"boom")
        elif failure < 0.6:
            reply = Reply(503, headers={"Retry-After": "1"}, body=b"busy")
        elif failure < 0.8:
            reply = Reply(reset=True)
        else:
            reply = Reply(200, delay=self._late)  # after the sender has given up
        with self._lock:
            self.answers.append(Answer(received, reply))
        return reply

    def accepted(self) -> Counter[str]:
        """webhook-id -> how many times the receiver took it (answered 2xx)."""
        with self._lock:
            return Counter(a.received.webhook_id for a in self.answers if a.accepted)

    def seen(self) -> set[str]:
        with self._lock:
            return {a.received.webhook_id for a in self.answers}

    def bad_signatures(self, secret: str) -> list[str]:
        """webhook-ids of requests whose signature the Standard Webhooks library rejects."""
        webhook = Webhook(secret)
        bad = []
        with self._lock:
            answers = list(self.answers)
        for answer in answers:
            try:
                webhook.verify(answer.received.body, answer.received.headers)
            except Exception:
                bad.append(answer.received.webhook_id)
        return bad


def attempts_by_webhook_id(db: Database) -> dict[str, tuple[str, int, int]]:
    """webhook-id -> (delivery status, attempts recorded, successful attempts recorded)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT d.event_id, d.status, count(a.id),
                       count(a.id) FILTER (WHERE a.status_code BETWEEN 200 AND 299)
                FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id
                GROUP BY d.id, d.event_id, d.status
                """
            )
        ).all()
    return {webhook_id(event_id): (status, total, ok) for event_id, status, total, ok in rows}


def event_ids(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return {webhook_id(row[0]) for row in conn.execute(text("SELECT id FROM events"))}
