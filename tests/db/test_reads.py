"""The event loop's read connections (``app.db.reads``): read-only, one statement each, and
honest about a database that is not there."""

from __future__ import annotations

import socket

import anyio
import psycopg
import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.db.reads import AsyncReads, DatabaseUnavailable

# the read pool is PostgreSQL's (on SQLite reads stay in the session): no SQLite half here
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def postgres(db: Database) -> Database:
    assert db.dialect == "postgresql"
    return db


def a_closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_read_answers_with_its_row(postgres: Database) -> None:
    async def read() -> tuple[object, ...]:
        reads = AsyncReads(postgres.url)
        await reads.open()
        try:
            fetched = await reads.fetch_one(
                "SELECT current_setting('transaction_read_only'),"
                " current_setting('application_name'), %(n)s::int + 1",
                {"n": 41},
            )
        finally:
            await reads.close()
        assert fetched is not None
        return fetched.row

    assert anyio.run(read) == ("on", "rt-reads", 42)


def test_the_read_connections_refuse_writes(postgres: Database) -> None:
    async def write() -> None:
        reads = AsyncReads(postgres.url)
        await reads.open()
        try:
            await reads.fetch_one("CREATE TABLE written_by_a_read (id int)", {})
        finally:
            await reads.close()

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        anyio.run(write)


def test_a_connection_the_database_dropped_is_replaced_for_the_same_read(
    postgres: Database,
) -> None:
    async def around_a_drop() -> tuple[int, int]:
        reads = AsyncReads(postgres.url, size=1)
        await reads.open()
        try:
            before = await reads.fetch_one("SELECT pg_backend_pid()", {})
            assert before is not None
            with postgres.engine.begin() as conn:  # what a restart does to that connection
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before.row[0]})
            after = await reads.fetch_one("SELECT pg_backend_pid()", {})
            assert after is not None
            return before.row[0], after.row[0]
        finally:
            await reads.close()

    dropped, replacement = anyio.run(around_a_drop)

    assert replacement != dropped


def test_a_database_that_is_not_there_is_unavailable_within_the_timeout(
    postgres: Database,
) -> None:
    async def read() -> None:
        reads = AsyncReads(
            f"postgresql+psycopg://postgres@127.0.0.1:{a_closed_port()}/test", timeout=1
        )
        await reads.open()
        try:
            with anyio.fail_after(10):
                await reads.fetch_one("SELECT 1", {})
        finally:
            await reads.close()

    with pytest.raises(DatabaseUnavailable):
        anyio.run(read)


def test_reads_beyond_the_pool_take_turns_and_are_all_answered(postgres: Database) -> None:
    async def eight_reads_on_two_connections() -> list[int]:
        reads = AsyncReads(postgres.url, size=2)
        await reads.open()
        answers: list[int] = []

        async def read(n: int) -> None:
            fetched = await reads.fetch_one("SELECT %(n)s::int FROM pg_sleep(0.05)", {"n": n})
            assert fetched is not None
            answers.append(fetched.row[0])

        try:
            async with anyio.create_task_group() as group:
                for n in range(8):
                    group.start_soon(read, n)
        finally:
            await reads.close()
        return answers

    assert sorted(anyio.run(eight_reads_on_two_connections)) == list(range(8))


def test_a_read_that_gets_no_turn_in_time_is_unavailable(postgres: Database) -> None:
    async def two_reads_on_one_connection() -> object:
        reads = AsyncReads(postgres.url, size=1, timeout=0.5)
        await reads.open()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(reads.fetch_one, "SELECT pg_sleep(2)", {})  # holds the turn
                await anyio.sleep(0.05)
                with anyio.fail_after(10):
                    try:
                        await reads.fetch_one("SELECT 1", {})
                    except DatabaseUnavailable as exc:
                        return exc
        finally:
            await reads.close()
        return None

    assert isinstance(anyio.run(two_reads_on_one_connection), DatabaseUnavailable)


def test_a_connection_is_kept_at_hand_between_reads_not_handed_back(postgres: Database) -> None:
    async def two_reads() -> tuple[object, object, int]:
        reads = AsyncReads(postgres.url, size=2)
        await reads.open()
        try:
            first = await reads.fetch_one("SELECT pg_backend_pid()", {})
            second = await reads.fetch_one("SELECT pg_backend_pid()", {})
            pool = reads._lane().pool
            return (
                first and first.row[0],
                second and second.row[0],
                pool.get_stats()["requests_num"],
            )
        finally:
            await reads.close()

    first, second, asked_the_pool = anyio.run(two_reads)

    assert first == second
    assert asked_the_pool == 1


def test_a_writer_that_leaves_a_transaction_open_hands_its_connection_back(
    postgres: Database,
) -> None:
    async def leave_one_open() -> tuple[str, int]:
        writes = AsyncReads(postgres.url, size=1, read_only=False)
        await writes.open()
        try:
            async with writes.connection() as connection:
                await connection.execute("BEGIN")
                await connection.execute("SELECT 1")
            async with writes.connection() as connection:
                status = connection.info.transaction_status.name
            return status, writes._lane().pool.get_stats()["requests_num"]
        finally:
            await writes.close()

    status, asked_the_pool = anyio.run(leave_one_open)

    assert status == "IDLE"  # the pool rolled it back: nothing leaks into the next writer
    assert asked_the_pool == 2
