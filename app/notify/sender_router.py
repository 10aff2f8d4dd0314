"""The tenant's sender of customer e-mail: GET shows it (and the default), PUT replaces it."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AdminDep, NowDep, ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.notify import sender
from app.notify.sender import SenderSettingsRead, SenderSettingsUpdate

router = APIRouter(prefix="/v1/settings", tags=["settings"], route_class=OneThreadRoute)


@router.get("/sender", response_model=SenderSettingsRead)
def get_sender(
    principal: ReadDep, session: SessionDep, settings: SettingsDep
) -> SenderSettingsRead:
    return sender.sender_view(sender.get_sender(session, principal.tenant_id), settings)


@router.put("/sender", response_model=SenderSettingsRead)
def put_sender(
    body: SenderSettingsUpdate,
    principal: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> SenderSettingsRead:
    """Sender name, From and Reply-To of the e-mail we send this tenant's customers; each
    null field falls back to ``RT_SMTP_FROM``. Messages already sent keep their headers."""
    own = sender.replace_sender(session, tenant_id=principal.tenant_id, body=body, now=now)
    return sender.sender_view(own, settings)
