"""Engine and session factory for one database URL, tuned per backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.db.unit_of_work import finish


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )
        _make_sqlite_serialisable(engine)
        return engine
    engine = create_engine(
        url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_timeout=POOL_TIMEOUT_SECONDS
    )
    _ping_after_idle(engine, IDLE_BEFORE_PING_SECONDS)
    return engine


# Per process: 10 kept open, 10 more opened under load and closed again (plus 4 of
# ``commit_apart``): 24 at most, so a few replicas and schedulers fit PostgreSQL's default of
# 100 connections. Past it a thread waits for one, up to the timeout.
POOL_SIZE = 10
MAX_OVERFLOW = 10
POOL_TIMEOUT_SECONDS = 30
IDLE_BEFORE_PING_SECONDS = 5.0
_CHECKED_IN_AT = "rt_checked_in_at"


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle ``idle_seconds`` or more.

    A connection the database dropped (a restart, a failover, an idle timeout) is found and
    replaced before a request uses it, as ``pool_pre_ping`` would, without that extra round
    trip on every checkout of a busy pool: a connection in steady use has no time to go stale
    unnoticed, and if the database drops one mid-use SQLAlchemy invalidates it on the error.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_CHECKED_IN_AT)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # brand new, or in steady use
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()  # hand it over outside any transaction, as it came
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection was dropped: {exc!r}") from exc


def _make_sqlite_serialisable(engine: Engine) -> None:
    """One writer at a time with BEGIN IMMEDIATE, so a read never deadlocks upgrading to write."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_LOCK_NOT_AVAILABLE = "55P03"


def _make_apart_engine(engine: Engine) -> Engine:
    """A small autocommit pool whose commits do not wait for the disk (see ``commit_apart``)."""
    apart = create_engine(
        engine.url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=0, pool_timeout=30
    )

    @event.listens_for(apart, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
            # a row the caller's own open transaction holds would wait forever: give up soon
            cursor.execute("SET lock_timeout = '2s'")

    return apart


class Database:
    """Owns the engine; ``unit_of_work()`` is the transaction a request or a job runs in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._factory = sessionmaker(
            self.engine, class_=Session, expire_on_commit=False, info={"database": self}
        )
        self._apart: Engine | None = None
        self._apart_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def new_session(self) -> Session:
        """A session not yet connected (no I/O); closing it rolls back what was not committed."""
        return self._factory()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends without an error, else rolled back.

        The one way work is committed, in requests (see ``app.api.deps``) and jobs alike.
        """
        session = self.new_session()
        try:
            yield session
        except BaseException:
            finish(session, commit=False)
            raise
        finish(session, commit=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading: whatever happened in it is rolled back at the end."""
        session = self.new_session()
        try:
            yield session
        finally:
            finish(session, commit=False)

    @property
    def can_commit_apart(self) -> bool:
        return self.dialect == "postgresql"

    def commit_apart(self, statement: Executable) -> Any | None:
        """Run one statement in a transaction of its own, committed at once; its scalar result.

        For counters (incident numbers): a row lock held only for one statement instead of the
        caller's whole transaction, so concurrent writers of a tenant do not queue behind each
        other. A caller that rolls back leaves a gap, never a duplicate. The commit does not
        wait for the disk: whoever uses the value commits later, synchronously, and that flush
        carries this earlier WAL record with it. PostgreSQL only: SQLite has one writer.

        None when no row answered or the row stayed locked (the caller's own transaction may
        have created or changed it): the caller then does the work in its own transaction.
        """
        with self._apart_lock:
            if self._apart is None:
                self._apart = _make_apart_engine(self.engine)
            apart = self._apart
        for attempt in (1, 2):
            try:
                with apart.connect() as connection:
                    return connection.execute(statement).scalar_one_or_none()
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                    return None
                if attempt == 2 or not exc.connection_invalidated:
                    raise  # a connection the database dropped gets one fresh try
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
        if self._apart is not None:
            self._apart.dispose()
