"""What every table shares: one naming convention and an aware UTC timestamp column.

Each feature keeps its tables in its own ``models.py``; ``app.metadata`` imports them all so
Alembic (and the models/migrations agreement test) sees the whole schema. The naming
convention makes constraint and index names stable, so migrations diff cleanly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Index, MetaData
from sqlmodel import Field, SQLModel

from app.db.types import UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def timestamp_field(*, nullable: bool = False, index: bool = False) -> datetime:
    """An aware UTC timestamp column (SQLite keeps none, so the type restores it)."""
    return Field(  # type: ignore[no-any-return]
        default_factory=utcnow if not nullable else None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


def postgresql_only(index: Index) -> Index:
    """An index only PostgreSQL can use (a trigram GIN index): made there by the migration,
    absent on SQLite, where it would be a useless B-tree that every write pays for."""
    index.info["only_on"] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def schema_objects_of(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for a database of ``dialect``: leaves out the indexes that
    exist only on another, so comparing models and migrations stays exact on both."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        only_on = getattr(obj, "info", {}).get("only_on")
        return only_on is None or only_on == dialect

    return include
