"""What every process wires once at start-up, explicitly rather than as an import's side effect.

The API (``app.main.create_app``), the scheduler process (``python -m app.scheduler``) and the
operator CLI call ``wire()`` before they handle anything. Today that is the webhook fan-out
subscribing to the outbox, with its ORM listener.
"""

from __future__ import annotations

from app.webhooks import publish


def wire() -> None:
    publish.install()
