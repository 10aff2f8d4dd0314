"""Free-text search over incidents: the words a seller has at hand when a customer writes.

``q`` matches, as a case-insensitive substring, the order id, tracking number, customer name,
customer e-mail and ticket reference of the incident's parcel, and the incident's description.
``%``, ``_`` and ``\\`` in ``q`` are literal characters, never wildcards.

PostgreSQL answers ILIKE from trigram indexes (pg_trgm, GIN ``gin_trgm_ops``, one per searched
column), which serve a pattern of three or more characters. The parcel half and the description
half are separate sub-queries so that each reads its own indexes; a single OR across the join
could read none. SQLite's LIKE is case-insensitive for ASCII and scans.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, or_, union
from sqlalchemy.orm import Mapped
from sqlmodel import col, select

from app.incidents.models import Incident
from app.parcels.models import TRIGRAM_COLUMNS, Parcel

ESCAPE = "\\"


def escape_like(text: str) -> str:
    """``text`` as a LIKE pattern that matches only itself (with ``ESCAPE '\\'``)."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains_text(q: str, *, tenant_id: uuid.UUID) -> ColumnElement[bool]:
    """True for the tenant's incidents whose parcel fields or description contain ``q``."""
    pattern = f"%{escape_like(q)}%"
    parcel_matches = [
        col(getattr(Parcel, name)).ilike(pattern, escape=ESCAPE) for name in TRIGRAM_COLUMNS
    ]
    by_parcel = select(Incident.id).where(
        Incident.tenant_id == tenant_id,
        col(Incident.parcel_id).in_(
            select(Parcel.id).where(Parcel.tenant_id == tenant_id, or_(*parcel_matches))
        ),
    )
    by_description = select(Incident.id).where(
        Incident.tenant_id == tenant_id,
        col(Incident.description).ilike(pattern, escape=ESCAPE),
    )
    return col(Incident.id).in_(union(by_parcel, by_description))


def equals_ignoring_case(column: Mapped[str | None], value: str) -> ColumnElement[bool]:
    """``column`` equal to ``value`` whatever the case (ASCII on SQLite), wildcards literal."""
    return column.ilike(escape_like(value), escape=ESCAPE)
