"""INSERT ... ON CONFLICT DO NOTHING for both backends: the idempotent write we rely on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless a unique constraint already holds it; True when inserted.

    RETURNING tells us reliably whether the row went in (a DBAPI rowcount is not portable).
    """
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    primary_key = next(iter(table.primary_key.columns))
    statement = (
        module.insert(table).values(**values).on_conflict_do_nothing().returning(primary_key)
    )
    return session.execute(statement).first() is not None
