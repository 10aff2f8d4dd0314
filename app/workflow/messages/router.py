"""Customer messages of an incident: preview a template, record what was sent or received."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.api.pages import (
    PageSizeQuery,
    PageTokenQuery,
    keyset_page,
)
from app.core.actors import Actor
from app.core.schemas import Page
from app.incidents.service import get_incident_with_parcel
from app.workflow.messages import service as messages
from app.workflow.messages.schemas import (
    MessageCreate,
    MessagePreviewCreate,
    MessagePreviewRead,
    MessageRead,
)
from app.workflow.messages.views import message_view

router = APIRouter(
    prefix="/v1/incidents/{incident_id}/messages", tags=["messages"], route_class=OneThreadRoute
)


@router.post("/preview", response_model=MessagePreviewRead)
def preview_message(
    incident_id: uuid.UUID,
    body: MessagePreviewCreate,
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> MessagePreviewRead:
    """Render a template with this incident's data, in the customer's language; stores nothing."""
    incident, parcel = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    composed = messages.compose(
        session,
        incident=incident,
        parcel=parcel,
        template_key=body.template_key,
        language=body.language,
        params=body.params,
        settings=settings,
        now=now,
    )
    return messages.preview_view(composed)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MessageRead)
def record_message(
    incident_id: uuid.UUID,
    body: MessageCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> MessageRead:
    """Record a message (a template rendered now, or free text) and raise message.created."""
    incident, parcel = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id, lock=True
    )
    message = messages.record_message(
        session,
        incident=incident,
        parcel=parcel,
        body=body,
        actor=Actor.api_key(principal),
        settings=settings,
        now=now,
    )
    response.headers["Location"] = f"/v1/incidents/{incident_id}/messages/{message.id}"
    return message_view(message)


@router.get("", response_model=Page[MessageRead])
def list_messages(
    incident_id: uuid.UUID,
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[MessageRead]:
    """The conversation, oldest first."""
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    filters = {"incident_id": str(incident.id)}
    return keyset_page(
        settings,
        filters=filters,
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: messages.list_messages(
            session, incident_id=incident.id, after=after, limit=limit
        ),
        position=lambda m: (m.occurred_at, m.id),
        view=message_view,
    )


@router.get("/{message_id}", response_model=MessageRead)
def get_message(
    incident_id: uuid.UUID, message_id: uuid.UUID, principal: ReadDep, session: SessionDep
) -> MessageRead:
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    return message_view(
        messages.get_message(session, incident_id=incident.id, message_id=message_id)
    )
