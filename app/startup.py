"""What every process wires once at start-up, explicitly rather than as an import's side effect.

The API (``app.main.create_app``), the scheduler process (``python -m app.scheduler``) and the
operator CLI call ``wire()`` before they handle anything. Today that is the webhook fan-out
subscribing to the outbox, with its ORM listener. ``announce`` logs, once per process, what
the process will do that an operator most often gets wrong by a missing setting.
"""

from __future__ import annotations

import structlog

from app.core.settings import Settings
from app.webhooks import publish


def wire() -> None:
    publish.install()


def email_sending(settings: Settings) -> str:
    """One line on customer e-mail (never the password)."""
    if not settings.smtp_host:
        return "e-mail sending off: RT_SMTP_HOST is not set"
    return f"e-mail via {settings.smtp_host}:{settings.smtp_port}"


def announce(settings: Settings) -> None:
    structlog.get_logger("startup").info(
        email_sending(settings),
        starttls=settings.smtp_starttls if settings.smtp_host else None,
        login=bool(settings.smtp_username) if settings.smtp_host else None,
    )
