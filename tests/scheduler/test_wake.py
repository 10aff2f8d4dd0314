"""The scheduler's wake-up parts on their own: a burst of rings is one pass, a ring during a
pass is one more, a failing pass does not stop the loop, a listener that cannot connect
pauses longer each time. (End to end, with PostgreSQL: ``tests/webhooks/test_wake_on_commit``.)
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import psycopg

from app.db.engine import Database
from app.scheduler.wake import RETRY_FIRST, Doorbell, Listener, WakeLoop, psycopg_connect

AN_HOUR = 3600


def test_sqlite_has_no_listener_and_postgresql_with_psycopg_has_one(db: Database) -> None:
    assert (psycopg_connect(db) is None) == (db.dialect == "sqlite")


class Passes:
    """A pass that counts itself; a test awaits the n-th one. The first can be held open."""

    def __init__(self, *, hold_first: bool = False, fail: bool = False) -> None:
        self.count = 0
        self.fail = fail
        self.first_may_end = asyncio.Event()
        if not hold_first:
            self.first_may_end.set()
        self._changed = asyncio.Condition()

    async def __call__(self) -> None:
        self.count += 1
        async with self._changed:
            self._changed.notify_all()
        if self.count == 1:
            await self.first_may_end.wait()
        if self.fail:
            raise RuntimeError("the database is away")

    async def started(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.count >= count)


async def _settle() -> None:
    """Let every task that can run, run (the loop's next pass would start in here)."""
    for _ in range(100):
        await asyncio.sleep(0)


def test_a_burst_of_rings_is_one_pass_and_a_ring_during_a_pass_is_one_more() -> None:
    async def scenario() -> tuple[int, int]:
        bell = Doorbell()
        passes = Passes(hold_first=True)
        task = asyncio.create_task(WakeLoop(interval=AN_HOUR, bell=bell).run(passes))
        await passes.started(1)
        for _ in range(1_000):  # while the start-up pass runs
            bell.ring()
        passes.first_may_end.set()
        await passes.started(2)
        await _settle()
        during = passes.count
        for _ in range(1_000):  # while it waits
            bell.ring()
        await passes.started(3)
        await _settle()
        task.cancel()
        return during, passes.count

    during, after = asyncio.run(scenario())
    assert during == 2  # the start-up pass, then one for the 1,000 rings that came meanwhile
    assert after == 3  # one for the next 1,000


def test_a_failing_pass_does_not_stop_the_loop() -> None:
    async def scenario() -> int:
        bell = Doorbell()
        passes = Passes(fail=True)
        loop = WakeLoop(interval=AN_HOUR, bell=bell)
        task = asyncio.create_task(loop.run(passes))
        await passes.started(1)
        await _settle()
        bell.ring()
        await passes.started(2)
        task.cancel()
        return passes.count

    assert asyncio.run(scenario()) == 2


def test_a_listener_that_cannot_connect_waits_longer_each_time() -> None:
    """No busy loop when the database is down: the pauses grow (0.5 s, 1 s, ...)."""

    async def scenario() -> list[float]:
        attempts: list[float] = []
        third = asyncio.Event()

        async def refused() -> psycopg.AsyncConnection[Any]:
            attempts.append(time.monotonic())
            if len(attempts) == 3:
                third.set()
            raise OSError("connection refused")

        task = asyncio.create_task(Listener(refused, {"channel": Doorbell()}).run())
        await third.wait()
        task.cancel()
        return [later - earlier for earlier, later in itertools.pairwise(attempts)]

    first, second = asyncio.run(scenario())
    assert first >= RETRY_FIRST
    assert second >= 2 * RETRY_FIRST
