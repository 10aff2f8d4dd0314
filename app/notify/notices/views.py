"""Reading notices back: each with its progress, counted from its messages' delivery."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, func, select

from app.core.actors import Actor
from app.core.errors import NotFound
from app.notify.models import Notice
from app.notify.notices.schemas import NoticeProgress, NoticeRead
from app.workflow.messages.models import DELIVERY_STATES, CustomerMessage


def progress_of(
    session: Session, notice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, NoticeProgress]:
    """Messages per delivery state, for many notices in one GROUP BY."""
    counts: dict[uuid.UUID, dict[str, int]] = {
        notice_id: dict.fromkeys(DELIVERY_STATES, 0) for notice_id in notice_ids
    }
    if notice_ids:
        rows = session.exec(
            select(CustomerMessage.notice_id, CustomerMessage.delivery, func.count())
            .where(col(CustomerMessage.notice_id).in_(notice_ids))
            .group_by(col(CustomerMessage.notice_id), col(CustomerMessage.delivery))
        )
        for notice_id, delivery, count in rows:
            if notice_id is not None and delivery in DELIVERY_STATES:
                counts[notice_id][delivery] = count
    return {notice_id: NoticeProgress(**by_state) for notice_id, by_state in counts.items()}


def notice_view(notice: Notice, progress: NoticeProgress) -> NoticeRead:
    return NoticeRead(
        id=notice.id,
        template_key=notice.template_key,
        params=json.loads(notice.params),
        filter=json.loads(notice.filters),
        parcel_count=notice.parcel_count,
        no_email_count=notice.no_email_count,
        opted_out_count=notice.opted_out_count,
        actor=Actor.stored(notice.actor_type, notice.actor_id, notice.actor_name).view(),
        created_at=notice.created_at,
        progress=progress,
    )


def read_notice(session: Session, *, tenant_id: uuid.UUID, notice_id: uuid.UUID) -> NoticeRead:
    notice = session.get(Notice, notice_id)
    if notice is None or notice.tenant_id != tenant_id:
        raise NotFound(f"notice {notice_id} not found")
    return notice_view(notice, progress_of(session, [notice.id])[notice.id])


def list_notices(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[NoticeRead]:
    """Newest first; keyset pages on (created_at, id)."""
    query = select(Notice).where(Notice.tenant_id == tenant_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            (col(Notice.created_at) < at)
            | ((col(Notice.created_at) == at) & (col(Notice.id) < last_id))
        )
    notices = list(
        session.exec(
            query.order_by(col(Notice.created_at).desc(), col(Notice.id).desc()).limit(limit)
        )
    )
    progress = progress_of(session, [n.id for n in notices])
    return [notice_view(notice, progress[notice.id]) for notice in notices]
