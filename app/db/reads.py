"""PostgreSQL connections on the event loop, for the hottest reads (and, built with
``read_only=False``, the one write that takes this way: ``app.incidents.opening``).

A read through the ORM in a worker thread costs about a millisecond of CPU before the query
reaches the database: the session and its transaction (BEGIN and COMMIT, two more round
trips), SQLAlchemy's result machinery, psycopg describing every column again, and the thread
hops with their fights over the GIL. A storefront polling ``GET /v1/incidents/{id}`` pays it
on every call. These connections are psycopg's own asyncio ones, pooled by psycopg-pool:

- **autocommit**, so a read is one round trip: no BEGIN, no COMMIT. PostgreSQL's default
  READ COMMITTED takes a snapshot per statement anyway, so one statement sees exactly what it
  saw inside a transaction;
- **read-only** (``default_transaction_read_only``), so PostgreSQL itself refuses a write
  sent through the read connections by mistake;
- **awaited on the loop**: no worker thread.

Rows come back as plain tuples; ``app.db.detached`` turns them into the same model instances
the ORM would have loaded. Only PostgreSQL has them: on SQLite, reads stay in the session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout
from sqlalchemy.engine import make_url

# A read holds its connection for one round trip, so a few serve a whole worker; beyond them
# a read waits for one on the loop (no thread is held), up to the timeout.
READ_POOL_SIZE = 4
READ_POOL_TIMEOUT_SECONDS = 30.0
APPLICATION_NAME = "rt-reads"  # how they show in pg_stat_activity


# How long a connection stays out of psycopg-pool between two hand-backs: returning it now and
# then lets the pool apply its own rules (its maximum lifetime, closing spare connections).
IDLE_LANE_SECONDS = 60.0


class Fetched(NamedTuple):
    row: tuple[Any, ...]
    type_codes: tuple[int, ...]  # PostgreSQL's type OID of each column


@dataclass
class _Lane:
    """A loop's pool, its turns, and the connections taken from the pool and kept at hand."""

    pool: AsyncConnectionPool
    turns: asyncio.Semaphore
    idle: list[psycopg.AsyncConnection[Any]] = field(default_factory=list)
    taken_at: dict[int, float] = field(default_factory=dict)  # id(connection): out of the pool


class DatabaseUnavailable(RuntimeError):
    """The database could not answer a read (down, restarting, or no connection in time)."""


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as the plain URL libpq takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class AsyncReads:
    """A small pool of autocommit, read-only connections per event loop, open while the app's
    lifespan runs on that loop.

    An asyncio connection belongs to the loop that opened it. A server has one loop, but an
    app may be started again, or twice at once on two loops (as the tests do), so each
    lifespan opens a pool of its own and closes it; a closed pool cannot be reopened.
    """

    def __init__(
        self,
        url: str,
        *,
        size: int = READ_POOL_SIZE,
        timeout: float = READ_POOL_TIMEOUT_SECONDS,
        read_only: bool = True,
        application_name: str = APPLICATION_NAME,
    ) -> None:
        self.conninfo = libpq_conninfo(url)
        self.size, self.timeout = size, timeout
        self.read_only, self.application_name = read_only, application_name
        self._lanes: dict[asyncio.AbstractEventLoop, _Lane] = {}

    def is_open(self) -> bool:
        """Whether this loop has its pool (call it on the loop)."""
        return asyncio.get_running_loop() in self._lanes

    async def open(self) -> None:
        """Start this loop's pool without waiting for a connection: a database that is down
        at start answers each read with ``DatabaseUnavailable`` instead of failing the start."""
        loop = asyncio.get_running_loop()
        if loop in self._lanes:
            return
        pool = AsyncConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=self.size,
            timeout=self.timeout,
            open=False,
            kwargs={
                "autocommit": True,
                "options": f"-c default_transaction_read_only={'on' if self.read_only else 'off'}",
                "application_name": self.application_name,
            },
        )
        self._lanes[loop] = _Lane(pool, asyncio.Semaphore(self.size))
        await pool.open(wait=False)

    async def close(self) -> None:
        lane = self._lanes.pop(asyncio.get_running_loop(), None)
        if lane is not None:
            for connection in lane.idle:
                await lane.pool.putconn(connection)
            await lane.pool.close()

    async def fetch_one(self, sql: str, params: Mapping[str, Any]) -> Fetched | None:
        """The first row of ``sql`` with its columns' types; psycopg prepares a statement it
        sees repeatedly.

        A pooled connection the database dropped (a restart, a failover) fails its next
        statement; that read is tried once more on a fresh connection, which is safe for a
        read. A second failure is ``DatabaseUnavailable``.
        """
        for attempt in (1, 2):
            try:
                return await self._fetch_one(sql, params)
            except psycopg.OperationalError as exc:
                if attempt == 2 or not _connection_lost(exc):
                    raise DatabaseUnavailable(str(exc)) from exc
            except (PoolTimeout, TimeoutError) as exc:  # no connection, or no turn, in time
                raise DatabaseUnavailable(str(exc)) from exc
        raise AssertionError("unreachable")

    async def _fetch_one(self, sql: str, params: Mapping[str, Any]) -> Fetched | None:
        # ``connection()``'s steps written out: a read is hot enough that its generator counts
        lane = self._lane()
        connection = await self._check_out(lane)
        kept = False
        try:
            cursor = await connection.execute(sql, params)
            row = await cursor.fetchone()
            result = cursor.pgresult
            kept = True
        finally:
            await self._check_in(lane, connection, kept=kept)
        if row is None or result is None:
            return None
        # the type OIDs straight from libpq: ``cursor.description`` would build a Column
        # object per column on every call
        return Fetched(row, tuple(result.ftype(i) for i in range(result.nfields)))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One of this loop's connections, once a turn is free (``PoolTimeout`` or
        ``TimeoutError`` after the timeout; ``PoolClosed`` when the loop has no pool). A
        connection left inside a transaction, or after an error, goes back to the pool,
        which resets or replaces it."""
        lane = self._lane()
        connection = await self._check_out(lane)
        kept = False
        try:
            yield connection
            kept = True
        finally:
            await self._check_in(lane, connection, kept=kept)

    def _lane(self) -> _Lane:
        lane = self._lanes.get(asyncio.get_running_loop())
        if lane is None:
            raise PoolClosed("no pool on this loop (the app's lifespan opens it)")
        return lane

    async def _check_out(self, lane: _Lane) -> psycopg.AsyncConnection[Any]:
        """Callers queue for a turn, one connection each, so a connection is always at hand:
        waiting inside the pool costs every waiter a task and a condition (``wait_for``),
        about 5% of a read's CPU when 32 reads share 4 connections. A connection last used
        here waits in ``idle`` rather than in the pool: handing it back and taking it out of
        psycopg-pool again cost a read about 6% of its CPU."""
        if lane.turns.locked():
            async with asyncio.timeout(self.timeout):
                await lane.turns.acquire()
        else:
            await lane.turns.acquire()  # one is free: no wait, so no timeout to arm
        try:
            if lane.idle:
                return lane.idle.pop()
            connection = await lane.pool.getconn()
            lane.taken_at[id(connection)] = time.monotonic()
            return connection
        except BaseException:
            lane.turns.release()
            raise

    async def _check_in(
        self, lane: _Lane, connection: psycopg.AsyncConnection[Any], *, kept: bool
    ) -> None:
        try:
            fine = kept and connection.info.transaction_status == TransactionStatus.IDLE
            taken_at = lane.taken_at.get(id(connection), 0.0)
            if fine and time.monotonic() - taken_at < IDLE_LANE_SECONDS:
                lane.idle.append(connection)
            else:
                lane.taken_at.pop(id(connection), None)
                await lane.pool.putconn(connection)  # psycopg-pool resets, replaces or ages it
        finally:
            lane.turns.release()


def _connection_lost(exc: psycopg.OperationalError) -> bool:
    """The connection broke (the pool replaces it), as opposed to a refused statement."""
    return exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))
