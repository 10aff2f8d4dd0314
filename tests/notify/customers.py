"""Customers in three languages, some unreachable, and ways to read their messages back."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from app.db.engine import Database
from app.workflow.messages.models import CustomerMessage
from tests.factories import ApiClient, register_parcel

HOLIDAY = {"holiday_name": "Spring Festival", "from_date": "2026-02-14", "to_date": "2026-02-22"}
PEOPLE = (  # locale, destination, a name in the customer's language
    ("de-DE", "DE", "Jürgen Weiß"),
    ("fr-FR", "FR", "Élodie Lefèvre"),
    ("en-GB", "GB", "Oliver Smith"),
)


def customer(
    api: ApiClient,
    n: int,
    *,
    locale: str,
    country: str,
    name: str,
    email: bool = True,
    proactive_notices: bool = True,
    **kw: Any,
) -> dict[str, Any]:
    return register_parcel(
        api,
        order_id=f"SO-{n:04d}",
        tracking_number=f"SANDBOX-INTRANSIT-{n:04d}",
        carrier=None,
        destination_country=country,
        customer={
            "name": name,
            "email": f"customer{n}@example.com" if email else None,
            "locale": locale,
            "proactive_notices": proactive_notices,
        },
        **kw,
    )


def thirty_customers(api: ApiClient, db: Database) -> list[dict[str, Any]]:
    """Ten each in German, French and English; every fifth has no e-mail address, and four
    others asked for no notices (parcels 1, 2, 3 and 4)."""
    parcels = []
    for n in range(30):
        locale, country, name = PEOPLE[n % 3]
        parcels.append(
            customer(
                api,
                n,
                locale=locale,
                country=country,
                name=name,
                email=n % 5 != 0,
                proactive_notices=n not in (1, 2, 3, 4),
            )
        )
    return parcels


def stored_messages(db: Database, **where: Any) -> list[CustomerMessage]:
    with db.session() as session:
        query = select(CustomerMessage)
        for name, value in where.items():
            query = query.where(getattr(CustomerMessage, name) == value)
        return list(session.exec(query.order_by(col(CustomerMessage.created_at))))
