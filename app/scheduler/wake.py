"""Run a job as soon as a commit gives it work: a PostgreSQL ``LISTEN`` plus a doorbell.

A job with a wake channel (``Job.wake``) is not an interval job of APScheduler's: a
``WakeLoop`` runs its passes, one at a time, whenever its ``Doorbell`` rings and otherwise
every interval (the fallback: SQLite, a lost notification, a listener reconnecting).

- **Coalesced.** A ring only sets a flag. A burst of 1,000 notifications is one pass (or two:
  one that is running, and one more that starts after it and sees everything committed).
- **Never lost.** The flag is cleared when a pass *starts*, so a commit during a pass rings
  for another pass instead of being missed.
- **Resilient.** ``Listener`` holds one autocommit psycopg connection per process. When the
  database drops it, it reconnects with a growing pause (never a busy loop), rings every bell
  once it is back (it may have missed notifications), and checks the connection every
  ``CHECK_EVERY`` seconds while nothing arrives, so a silently dead one is noticed too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psycopg
import structlog
from psycopg import sql

from app.db.engine import Database

log = structlog.get_logger("scheduler")

APPLICATION_NAME = "rt-scheduler-wake"
CHECK_EVERY = 30.0  # seconds without a notification before the connection is checked
RETRY_FIRST, RETRY_MAX = 0.5, 30.0  # the pause before a reconnect, doubling up to the max

Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]


class Doorbell:
    """Coalesced wake-ups: ring any number of times, the waiter wakes once."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, seconds: float) -> bool:
        """Until rung (True) or ``seconds`` passed (False); the ring is used up."""
        try:
            await asyncio.wait_for(self._rung.wait(), seconds)
        except TimeoutError:
            return False
        finally:
            self._rung.clear()
        return True


class WakeLoop:
    """One job's passes: at start, on each ring (coalesced), and at least every ``interval``."""

    def __init__(self, *, interval: float, bell: Doorbell) -> None:
        self.interval = interval
        self.bell = bell
        self.passes = 0  # passes finished (tests, logs)
        self.running = False

    async def run(self, run_pass: Callable[[], Awaitable[object]]) -> None:
        while True:
            started = time.monotonic()
            self.running = True
            try:
                await run_pass()
            except Exception:  # noqa: S110 (run_job has logged it; the next pass tries again)
                pass
            finally:
                self.running = False
                self.passes += 1
            await self.bell.wait(max(0.0, started + self.interval - time.monotonic()))


def psycopg_connect(db: Database) -> Connect | None:
    """How to open a listening connection to ``db``; None where no listener can work."""
    engine = db.engine
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return None
    args, params = engine.dialect.create_connect_args(engine.url)
    params = {k: v for k, v in params.items() if k != "context"}  # the sync engine's adapters
    params["application_name"] = APPLICATION_NAME

    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(*args, autocommit=True, **params)

    return connect


class Listener:
    """Rings ``bells[channel]`` for every notification on ``channel``, reconnecting for ever."""

    def __init__(self, connect: Connect, bells: Mapping[str, Doorbell]) -> None:
        self.connect = connect
        self.bells = dict(bells)
        self.connections = 0  # how many times it has started listening (tests, logs)
        self.listening = asyncio.Event()

    async def _listen_once(self) -> None:
        async with await self.connect() as connection:
            for channel in self.bells:
                await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.connections += 1
            if self.connections > 1:  # notifications may have come while we were away
                log.info("wake listener reconnected", channels=list(self.bells))
                for bell in self.bells.values():
                    bell.ring()
            self.listening.set()
            while True:
                async for notice in connection.notifies(timeout=CHECK_EVERY):
                    if (rung := self.bells.get(notice.channel)) is not None:
                        rung.ring()
                await connection.execute("SELECT 1")  # quiet for a while: still there?

    async def run(self) -> None:
        pause = RETRY_FIRST
        while True:
            connections = self.connections
            try:
                await self._listen_once()
            except (psycopg.Error, OSError) as exc:
                log.warning("wake listener lost its connection", error=str(exc)[:200])
            except Exception:
                log.exception("wake listener failed")
            finally:
                self.listening.clear()
            if self.connections > connections:
                pause = RETRY_FIRST  # it was listening: start the pauses afresh
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX)
