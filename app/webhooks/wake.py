"""Wake the dispatcher when deliveries become due: a PostgreSQL ``NOTIFY`` in their transaction.

PostgreSQL hands a ``NOTIFY`` to listeners only when the transaction that sent it commits,
and drops it on a rollback: exactly "these rows are now visible". The scheduler process
listens on ``CHANNEL`` (``app.scheduler.wake``) and runs a dispatch pass at once instead of
waiting for its next tick. Nothing depends on the notification arriving: the interval tick
still finds every due row (SQLite, a listener that was reconnecting, a lost notification).

One ``NOTIFY`` per transaction, however many deliveries it writes. A notifying transaction
takes a database-wide lock for its commit, so transactions without deliveries never send one.
"""

from __future__ import annotations

from sqlmodel import Session

from app.db.tx_cache import per_transaction

CHANNEL = "rt_webhook_deliveries_due"
_SENT_KEY = "webhook_wake_sent"


def wake_dispatcher_on_commit(session: Session) -> None:
    """Ask for a dispatch pass when this transaction commits (PostgreSQL; a no-op elsewhere)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()  # begins the transaction the mark below belongs to
    sent = per_transaction(session, _SENT_KEY)
    if not sent:
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")
        sent[CHANNEL] = True
