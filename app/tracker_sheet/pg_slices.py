"""One export read by two PostgreSQL connections at once, in one snapshot, in the list's order.

A query runs on one backend, so on one core: building the tracker's cells costs PostgreSQL
about 25 µs a row, and one stream of them cannot pass about 40,000 rows a second whatever
Python does. Here the rows are cut into slices along the list's order (every ``SLICE_ROWS``-th
row's place, from ``pg_cells.slice_ends_statement``), and the connections take the slices
in turn, each in a thread of its own (a thread waiting on its socket holds no GIL). The
caller gets the slices back in order.

One snapshot: the first connection opens a repeatable-read transaction and exports its
snapshot (``pg_export_snapshot``); the others adopt it (``SET TRANSACTION SNAPSHOT``) before
their first query, so every slice sees the same committed data, as one statement would.

Memory: each connection holds at most one finished slice waiting to be taken and the one it
is reading, so about ``2 * CONNECTIONS + 1`` slices at once, whatever the number of rows.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from psycopg import Connection, sql

from app.db.engine import Database
from app.tracker_sheet.pg_cells import Key, Slice

CONNECTIONS = 2  # the machines have two cores: PostgreSQL's work is most of an export's
# about 0.65 MB of CSV: the export holds up to five (3.7 MB at most for any number of rows;
# 2,000 held 7 MB, and 4.4-5.6 MB for 10,000 rows); the statement is prepared, so a slice
# costs one more execution of it, not a plan
SLICE_ROWS = 1_000
_HANDOVER_POLL_SECONDS = 0.05

T = TypeVar("T")


@contextlib.contextmanager
def snapshot_connections(db: Database, setup: str) -> Iterator[list[Connection[Any]]]:
    """``CONNECTIONS`` pooled connections in repeatable-read transactions that share one
    snapshot, ``setup`` (``SET LOCAL`` ...) run in each. Rolled back when returned."""
    with contextlib.ExitStack() as stack:
        connections: list[Connection[Any]] = []
        for _ in range(CONNECTIONS):
            pooled = stack.enter_context(db.engine.connect())
            pooled = pooled.execution_options(isolation_level="REPEATABLE READ")
            driver = pooled.connection.driver_connection
            assert isinstance(driver, Connection)
            connections.append(driver)
        first, *others = connections
        row = first.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        adopt = sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(row[0]))
        for other in others:
            other.execute(adopt)
        for connection in connections:
            connection.execute(setup)
        yield connections


def slices(connection: Connection[Any], ends: tuple[str, dict[str, Any]]) -> list[Slice]:
    """The slices of ``SLICE_ROWS`` rows, each after the place where the one before ends
    (``ends``: ``slice_ends_statement``'s), the last with whatever rows are left."""
    query, params = ends
    places: list[Key | None] = [None, *((at, key) for at, key in connection.execute(query, params))]
    return [Slice(after=place, rows=SLICE_ROWS) for place in places]


@dataclass(slots=True)
class _Failed:
    error: BaseException


def in_order(
    connections: Sequence[Connection[Any]],
    parts: Sequence[Slice],
    read: Callable[[Connection[Any], Slice], T],
) -> Generator[T]:
    """``read(connection, part)`` of every part, in the parts' order; connection ``n`` reads
    parts ``n``, ``n + len(connections)``, ... in a thread of its own. An error in a thread is
    raised here, in the caller's. Closing the iterator stops the threads after the part each
    is reading, and waits for them, so the connections are free again when it returns."""
    stop = threading.Event()
    handed: list[queue.Queue[T | _Failed]] = [queue.Queue(maxsize=1) for _ in connections]

    def work(n: int) -> None:
        for part in parts[n :: len(connections)]:
            try:
                result: T | _Failed = read(connections[n], part)
            except BaseException as error:  # raised again in the caller's thread
                result = _Failed(error)
            while not stop.is_set():
                try:
                    handed[n].put(result, timeout=_HANDOVER_POLL_SECONDS)
                    break
                except queue.Full:
                    continue
            if stop.is_set() or isinstance(result, _Failed):
                return

    threads = [
        threading.Thread(target=work, args=(n,), name=f"tracker-export-{n}", daemon=True)
        for n in range(len(connections))
    ]
    for thread in threads:
        thread.start()
    try:
        for index in range(len(parts)):
            result = handed[index % len(connections)].get()
            if isinstance(result, _Failed):
                raise result.error
            yield result
    finally:
        stop.set()
        for thread in threads:
            thread.join()
