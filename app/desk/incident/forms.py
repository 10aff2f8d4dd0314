"""The incident page's forms, each calling the service its API twin calls, so each writes
the same timeline entries and events; then back to the page (Post/Redirect/Get).

A refusal from a service (a move the table does not allow, a stale version, a bad file) is
an error page with the reason, and the request's unit of work rolls everything back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.core.errors import AppError, ValidationFailed
from app.desk.actor import desk_actor
from app.desk.web.auth import Desk, PostDep
from app.desk.web.render import page
from app.evidence import service as evidence
from app.evidence.schemas import EvidenceKind
from app.incidents import service as incidents
from app.incidents.schemas import (
    ActionCreate,
    ActionKind,
    IncidentStatus,
    IncidentUpdate,
    NextStep,
    Resolution,
    TransitionCreate,
)
from app.workflow.messages import service as messages
from app.workflow.messages.schemas import Channel, MessageCreate
from app.workflow.templates.catalogue import spec_for

router = APIRouter(prefix="/incidents/{incident_id}", route_class=UnitOfWorkRoute)
CHUNK = 256 * 1024


def back(incident_id: uuid.UUID, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/desk/incidents/{incident_id}{anchor}", status_code=303)


def local_moment(raw: str, desk: Desk, field: str) -> datetime:
    """A ``datetime-local`` field (``2026-03-12T17:00``) read in the desk's time zone."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(field, "a date and time, such as 2026-03-12T17:00") from None
    return moment.replace(tzinfo=desk.zone) if moment.tzinfo is None else moment


def checked(model: Any, **values: Any) -> Any:
    """Build an API input model from form values; its refusals read as field errors."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "form"
        raise ValidationFailed(field, first["msg"]) from None


@router.post("/actions")
def log_action(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    kind: Annotated[ActionKind, Form()],
    text: Annotated[str, Form(max_length=5000)],
) -> Response:
    incident, _ = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, lock=True
    )
    body = checked(ActionCreate, kind=kind, text=text)
    incidents.log_action(
        session, incident=incident, body=body, actor=desk_actor(desk.user), now=desk.now
    )
    return back(incident_id, "#timeline")


@router.post("/next-step")
def set_next_step(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    action: Annotated[str, Form(max_length=500)],
    due_at: Annotated[str, Form(max_length=40)],
    version: Annotated[int, Form()],
) -> Response:
    """Optimistic, as PATCH with If-Match: a page read before someone else's change is 412."""
    incident, _ = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id
    )
    step = checked(NextStep, action=action, due_at=local_moment(due_at, desk, "due_at"))
    incidents.update_incident(
        session,
        incident=incident,
        expected_version=version,
        patch=IncidentUpdate(next_step=step),
        actor=desk_actor(desk.user),
        now=desk.now,
    )
    return back(incident_id)


@router.post("/status")
def change_status(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    to: Annotated[IncidentStatus, Form()],
    resolution: Annotated[Resolution | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Only the moves of ``TRANSITIONS`` are offered; the service refuses any other."""
    incident, _ = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, lock=True
    )
    body = checked(
        TransitionCreate,
        to=to,
        resolution=resolution if to == "resolved" else None,
        reason=reason or None,
    )
    incidents.transition_incident(
        session, incident=incident, body=body, actor=desk_actor(desk.user), now=desk.now
    )
    return back(incident_id)


def _params(request_form: FormData, template_key: str) -> dict[str, str]:
    """The template's parameters, sent as ``param_<key>_<name>`` fields (empty ones left out):
    the composer holds every template's fields, and two templates may share a name."""
    spec = spec_for(template_key)
    found = {
        p.name: str(request_form.get(f"param_{template_key}_{p.name}") or "").strip()
        for p in spec.params
    }
    return {name: value for name, value in found.items() if value}


async def read_form(request: Request) -> FormData:
    """The whole form (parsed once by the framework): templates' parameters vary by key."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


@router.post("/messages/preview", response_class=HTMLResponse)
def preview_message(
    incident_id: uuid.UUID,
    request: Request,
    desk: PostDep,
    session: SessionDep,
    form: FormDep,
    template_key: Annotated[str | None, Form(max_length=64)] = None,
    language: Annotated[str | None, Form(max_length=8)] = None,
) -> HTMLResponse:
    """The htmx fragment of the composer: the message as the customer would read it; like
    ``POST .../messages/preview`` it stores nothing."""
    incident, parcel = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id
    )
    if not template_key:  # the person writes their own text: nothing to render
        return page(request, "_preview.html", desk, error=None, preview=None)
    try:
        composed = messages.compose(
            session,
            incident=incident,
            parcel=parcel,
            template_key=template_key,
            language=language or None,
            params=dict(_params(form, template_key)),
            settings=desk.settings,
            now=desk.now,
        )
    except AppError as exc:
        return page(request, "_preview.html", desk, error=exc.detail, preview=None)
    return page(request, "_preview.html", desk, error=None, preview=messages.preview_view(composed))


@router.post("/messages")
def record_message(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    form: FormDep,
    channel: Annotated[Channel, Form()],
    template_key: Annotated[str | None, Form(max_length=64)] = None,
    language: Annotated[str | None, Form(max_length=8)] = None,
    text: Annotated[str | None, Form(max_length=20_000)] = None,
    send: Annotated[bool, Form()] = False,
) -> Response:
    """Records the message as sent elsewhere, or (``send``) sends it by e-mail ourselves, as
    POST .../messages does with ``"send": true`` (the channel is then e-mail)."""
    incident, parcel = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, lock=True
    )
    if send:
        channel = "email"
    if template_key:
        body = checked(
            MessageCreate,
            channel=channel,
            template_key=template_key,
            language=language or None,
            params=_params(form, template_key),
            send=send,
        )
    else:
        body = checked(MessageCreate, channel=channel, text=text or None, send=send)
    messages.record_message(
        session,
        incident=incident,
        parcel=parcel,
        body=body,
        actor=desk_actor(desk.user),
        settings=desk.settings,
        now=desk.now,
    )
    return back(incident_id, "#timeline")


@router.post("/evidence")
def upload_evidence(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    kind: Annotated[EvidenceKind, Form()] = "photo",
    description: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """The same checks as the API's upload: the size cap, the type read from the content."""
    incident, _ = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, lock=True
    )
    sink = evidence.UploadSink(
        desk.settings.evidence_dir, max_bytes=desk.settings.evidence_max_bytes
    )
    try:
        while chunk := file.file.read(CHUNK):
            sink.write(chunk)
        received = sink.close()
    except BaseException:
        sink.discard()
        raise
    try:
        evidence.store_evidence(
            session,
            incident=incident,
            received=received,
            kind=kind,
            file_name=file.filename,
            description=(description or "").strip() or None,
            actor=desk_actor(desk.user),
            settings=desk.settings,
            now=desk.now,
        )
    except BaseException:
        received.path.unlink(missing_ok=True)
        raise
    return back(incident_id, "#evidence")
