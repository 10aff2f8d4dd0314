"""A notice's messages with their parcels, in the order the notice met the parcels (oldest
registered first), keyset-paged on the parcel's (created_at, id): one message per parcel per
notice, so the position is unique."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from app.parcels.models import Parcel
from app.workflow.messages.models import CustomerMessage


def notice_messages(
    session: Session,
    *,
    notice_id: uuid.UUID,
    delivery: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[CustomerMessage, Parcel]]:
    query = (
        select(CustomerMessage, Parcel)
        .join(Parcel, col(Parcel.id) == col(CustomerMessage.parcel_id))
        .where(col(CustomerMessage.notice_id) == notice_id)
    )
    if delivery is not None:
        query = query.where(col(CustomerMessage.delivery) == delivery)
    if after is not None:
        at, last_id = after
        query = query.where(
            (col(Parcel.created_at) > at)
            | ((col(Parcel.created_at) == at) & (col(Parcel.id) > last_id))
        )
    query = query.order_by(col(Parcel.created_at), col(Parcel.id)).limit(limit)
    return [(message, parcel) for message, parcel in session.exec(query)]
