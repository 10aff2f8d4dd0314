"""A dict that lives as long as the session's current transaction: read once, use many times.

A detection tick or a poll page touches hundreds of parcels of a few tenants in one
transaction; what they all need (stuck rules, webhook routes) is read once per tenant here.
A new transaction starts with an empty dict, and whoever changes the cached rows calls
``forget`` so the same transaction never uses a stale copy.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session


def per_transaction(session: Session, key: str) -> dict[Any, Any]:
    transaction = session.get_transaction()
    cached = session.info.get(key)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[key] = cached
    store: dict[Any, Any] = cached[1]
    return store


def forget(session: Session, key: str) -> None:
    session.info.pop(key, None)
