"""What every process wires once at start-up, explicitly rather than as an import's side effect.

The API (``app.main.create_app``), the scheduler process (``python -m app.scheduler``) and the
operator CLI call ``wire()`` before they handle anything. Subscribers to the outbox, in the
order they run for each event:

1. the webhook fan-out (``app.webhooks.publish``), with its ORM listener;
2. an opened incident shows the parcel's earlier notices (``app.notify.earlier_messages``);
3. an opened automatic incident sends its type's notice (``app.notify.rules_sending``).

Given the process's database and settings, ``wire`` binds them for the subscribers that need
settings (``app.notify.process_settings``); otherwise they read the environment's.
``announce`` logs, once per process, what the process will do that an operator most often gets
wrong by a missing setting. ``settle`` ends a server process's start-up: the scheduler's
(``python -m app.scheduler``), and the API's lifespan through ``settle_once``, whichever way
uvicorn was started (``python -m app serve``, ``uvicorn --factory app.main:create_app``).
"""

from __future__ import annotations

import gc

import structlog

from app.core.settings import Settings
from app.db.engine import Database
from app.notify import process_settings
from app.notify.earlier_messages import (
    show_earlier_messages,
    show_earlier_messages_on_connection,
)
from app.notify.rules_sending import send_rule_notice, send_rule_notice_on_connection
from app.outbox.events import subscribe
from app.webhooks import publish


def wire(*, database: Database | None = None, settings: Settings | None = None) -> None:
    publish.install()
    subscribe(show_earlier_messages, on_connection=show_earlier_messages_on_connection)
    subscribe(send_rule_notice, on_connection=send_rule_notice_on_connection)
    if database is not None and settings is not None:
        process_settings.bind(database, settings)


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


def settle() -> None:
    """Take what start-up made (modules, mapped classes, compiled statements, about 200,000
    objects) out of the cycle collector's reach, for the life of the process (``gc.freeze``).

    They live as long as the process, yet each full collection walked all of them again:
    100 to 160 ms a time, once or twice per 5,000 webhooks sent, on the dispatcher's one core.
    Frozen, a full collection takes 6 to 15 ms. What is garbage now is collected first, so
    nothing dead is kept. Only a server process's entry point calls this, once: the tests
    build many apps in one process and must not keep each one's objects forever.
    """
    gc.collect()
    gc.freeze()


_settled = False


def settle_once() -> None:
    """``settle`` the first time an app finishes its start-up in this process, never again.

    A server process has one app (one per worker). A test process starts hundreds, one after
    another: freezing each would keep every one of them for good; freezing the first keeps one.
    Unsettled, a server spent 100 to 150 ms in each full collection, the POST benchmark's p99
    (bench/api.py) with the handler's work taken out: 164-195 ms, settled: 42 ms.
    """
    global _settled
    if not _settled:
        _settled = True
        settle()
