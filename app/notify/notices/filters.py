"""Which parcels a notice goes to: the plain criteria in SQL, the stuck verdict in Python.

``stuck`` means what the desk means by it: the parcel has an open automatic incident of a
stuck type (any automatic type but ``tracking_error``, which is a number failing, not a parcel
going quiet), or the detection verdict calls it stuck now, whatever incidents exist
(``app.parcels.stuck_now``: SQL narrows the candidates, ``judge`` decides).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_
from sqlmodel import Session, col, select

from app.carriers.service import validate_carrier
from app.core.errors import ValidationFailed
from app.incidents.models import Incident
from app.notify.notices.schemas import NoticeFilter
from app.parcels.models import Parcel
from app.parcels.stuck_now import may_be_stuck
from app.stuck.checks import facts_of
from app.stuck.rules import rules_for
from app.stuck.verdict import judge

NOT_STUCK_TYPES = ("tracking_error",)


def _open_stuck_incident() -> ColumnElement[bool]:
    return exists().where(
        col(Incident.parcel_id) == col(Parcel.id),
        col(Incident.source) == "auto",
        col(Incident.status) != "resolved",
        col(Incident.type).not_in(NOT_STUCK_TYPES),
    )


STREAM_BATCH = 1_000  # parcels read per round trip while matching a filter


def matching_parcels(
    session: Session, *, tenant_id: uuid.UUID, criteria: NoticeFilter, now: datetime, keep: int
) -> tuple[list[Parcel], int]:
    """The tenant's parcels matching every criterion given, oldest registered first: the first
    ``keep`` of them, and how many match in all. Rows are streamed in batches, so a filter
    matching a million parcels costs time, not memory."""
    has_incident = _open_stuck_incident()
    query = select(Parcel, has_incident).where(col(Parcel.tenant_id) == tenant_id)
    if criteria.carrier is not None:
        carrier = validate_carrier(criteria.carrier, field="filter.carrier")
        query = query.where(col(Parcel.carrier) == carrier)
    for column, value in (
        (Parcel.origin_country, criteria.origin_country),
        (Parcel.destination_country, criteria.destination_country),
        (Parcel.status, criteria.status.value if criteria.status else None),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if criteria.shipped_after is not None:
        query = query.where(col(Parcel.shipped_at) >= criteria.shipped_after)
    if criteria.shipped_before is not None:
        query = query.where(col(Parcel.shipped_at) < criteria.shipped_before)
    if criteria.parcel_ids is not None:
        _check_ids(session, tenant_id, criteria.parcel_ids)
        query = query.where(col(Parcel.id).in_(set(criteria.parcel_ids)))
    rules = rules_for(session, tenant_id) if criteria.stuck is not None else []
    if criteria.stuck is True:
        query = query.where(or_(has_incident, may_be_stuck(now, rules)))
    elif criteria.stuck is False:
        query = query.where(~has_incident)
    rows = session.exec(
        query.order_by(col(Parcel.created_at), col(Parcel.id)).execution_options(
            yield_per=STREAM_BATCH
        )
    )
    kept: list[Parcel] = []
    total = 0
    for parcel, incident in rows:
        if criteria.stuck is not None:
            stuck = incident or judge(facts_of(parcel), now=now, rules=rules).stuck
            if stuck != criteria.stuck:
                continue
        total += 1
        if len(kept) < keep:
            kept.append(parcel)
        else:
            session.expunge(parcel)  # counted, not kept
    return kept, total


def _check_ids(session: Session, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    """Every id named is one of the tenant's parcels: a mistyped list is refused, not cut."""
    wanted = set(ids)
    found = set(
        session.exec(
            select(Parcel.id).where(col(Parcel.tenant_id) == tenant_id, col(Parcel.id).in_(wanted))
        )
    )
    missing = sorted(str(parcel_id) for parcel_id in wanted - found)
    if missing:
        raise ValidationFailed(
            "filter.parcel_ids",
            f"{len(missing)} of them are not parcels of yours, e.g. {missing[0]}",
        )
