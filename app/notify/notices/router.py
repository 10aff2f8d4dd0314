"""Bulk notices: tell the customers of many parcels one thing, in each one's language."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.api.pages import PageSizeQuery, PageTokenQuery, keyset_page
from app.core.actors import Actor
from app.core.schemas import Page
from app.notify.notices import service as notices
from app.notify.notices import views
from app.notify.notices.schemas import NoticeCreate, NoticeDryRunRead, NoticeRead

router = APIRouter(prefix="/v1/notices", tags=["notices"], route_class=OneThreadRoute)


@router.post(
    "",
    response_model=NoticeDryRunRead | NoticeRead,
    responses={
        200: {"description": "Dry run: the counts and samples; nothing stored or sent."},
        201: {"model": NoticeRead, "description": "The notice; its messages are queued."},
    },
)
def create_notice(
    body: NoticeCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> NoticeDryRunRead | NoticeRead:
    """Dry run by default (`"dry_run": false` sends): one e-mail per matched parcel."""
    if body.dry_run:
        return notices.dry_run(
            session, tenant_id=principal.tenant_id, body=body, settings=settings, now=now
        )
    notice = notices.send_notice(
        session,
        tenant_id=principal.tenant_id,
        body=body,
        actor=Actor.api_key(principal),
        settings=settings,
        now=now,
    )
    response.status_code = status.HTTP_201_CREATED
    response.headers["Location"] = f"/v1/notices/{notice.id}"
    return views.read_notice(session, tenant_id=principal.tenant_id, notice_id=notice.id)


@router.get("/{notice_id}", response_model=NoticeRead)
def get_notice(notice_id: uuid.UUID, principal: ReadDep, session: SessionDep) -> NoticeRead:
    """The notice and its progress: its messages queued, sent, failed and not sent."""
    return views.read_notice(session, tenant_id=principal.tenant_id, notice_id=notice_id)


@router.get("", response_model=Page[NoticeRead])
def list_notices(
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[NoticeRead]:
    """Newest first."""
    return keyset_page(
        settings,
        filters={},
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: views.list_notices(
            session, tenant_id=principal.tenant_id, after=after, limit=limit
        ),
        position=lambda n: (n.created_at, n.id),
        view=lambda n: n,
    )
