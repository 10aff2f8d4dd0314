"""A throw-away PostgreSQL database for one benchmark run, migrated to head and dropped after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db.engine import Database
from app.db.migrate import upgrade_to_head

BENCH_POSTGRES_URL = os.environ.get(
    "RT_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def throwaway_database(prefix: str) -> Iterator[Database]:
    """A fresh database next to ``RT_BENCH_DATABASE_URL``'s, so runs never see each other."""
    admin = create_engine(BENCH_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"rt_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(BENCH_POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    try:
        upgrade_to_head(database.engine)
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
