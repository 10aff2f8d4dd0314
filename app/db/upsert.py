"""INSERT ... ON CONFLICT DO NOTHING for both backends: the idempotent write we rely on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless a unique constraint already holds it; True when inserted."""
    return bool(insert_ignore_many(session, table, [values]))


def insert_ignore_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> set[Any]:
    """Insert the rows no unique constraint already holds; the primary keys that went in.

    RETURNING tells us reliably which rows went in (a DBAPI rowcount is not portable), so a
    caller writes the consequences (timeline entries, events) only for those.
    """
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    primary_key = next(iter(table.primary_key.columns))
    if not rows:
        return set()
    statement = module.insert(table).on_conflict_do_nothing().returning(primary_key)
    # executemany with RETURNING: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
    return set(session.execute(statement, list(rows)).scalars())
