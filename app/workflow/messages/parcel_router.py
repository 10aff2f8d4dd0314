"""Everything the customer was told or wrote about a parcel, in an incident or not."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.api.deps import ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.api.pages import PageSizeQuery, PageTokenQuery, keyset_page
from app.core.schemas import Page
from app.parcels.service import get_parcel
from app.workflow.messages import service as messages
from app.workflow.messages.schemas import MessageRead
from app.workflow.messages.views import message_view

router = APIRouter(
    prefix="/v1/parcels/{parcel_id}/messages", tags=["messages"], route_class=OneThreadRoute
)


@router.get("", response_model=Page[MessageRead])
def list_parcel_messages(
    parcel_id: uuid.UUID,
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[MessageRead]:
    """Notices, and every incident's conversation, oldest first (``incident_id`` says which)."""
    parcel = get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
    return keyset_page(
        settings,
        filters={"parcel_id": str(parcel.id)},
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: messages.list_messages(
            session, parcel_id=parcel.id, after=after, limit=limit
        ),
        position=lambda m: (m.occurred_at, m.id),
        view=message_view,
    )
