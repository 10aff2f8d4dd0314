"""What every table shares: one naming convention and an aware UTC timestamp column.

Each feature keeps its tables in its own ``models.py``; ``app.metadata`` imports them all so
Alembic (and the models/migrations agreement test) sees the whole schema. The naming
convention makes constraint and index names stable, so migrations diff cleanly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
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
