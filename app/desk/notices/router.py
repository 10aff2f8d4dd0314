"""``/desk/notices``: tell the customers of many parcels one thing (a holiday pause, a backlog).

The form is ``POST /v1/notices``'s body; Preview is its dry run (counts and three samples,
nothing stored) and Send its real run, calling the same services (``app.notify.notices``)
as the desk person (``desk_actor``). Anyone may preview; only a supervisor (or an admin)
sends (``Permission.SEND_NOTICES``): mailing many customers is their decision. A refused
form comes back as this page, filled in, with the field and the reason (422), never a 500.
The confirm form carries what was previewed and a one-time ``notice_token``, so a second
submit goes to the notice the first one sent (``app.desk.notices.once``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from adapters.base import ScanStatus
from app.api.deps import SessionDep
from app.api.pages import PageTokenQuery, keyset_page
from app.api.request_unit import UnitOfWorkRoute
from app.carriers.service import carrier_codes
from app.core.errors import AppError, Forbidden, ValidationFailed
from app.desk.actor import desk_actor
from app.desk.incident.forms import FormDep
from app.desk.notices import once
from app.desk.notices.forms import (
    NoticeForm,
    Refusal,
    blank_form,
    notice_body,
    notice_templates,
    read_form,
    refusal_of,
)
from app.desk.web.auth import Desk, DeskDep, PostDep
from app.desk.web.render import page
from app.notify.notices import service as notices
from app.notify.notices import views
from app.notify.notices.schemas import NoticeDryRunRead
from app.people.roles import Permission

router = APIRouter(prefix="/notices", route_class=UnitOfWorkRoute)
EARLIER_PAGE = 20


def may_send(desk: Desk) -> bool:
    return desk.can(Permission.SEND_NOTICES)


def form_page(
    request: Request,
    desk: Desk,
    session: Session,
    *,
    entered: NoticeForm,
    status_code: int = 200,
    refusal: Refusal | None = None,
    preview: NoticeDryRunRead | None = None,
    page_token: str | None = None,
) -> HTMLResponse:
    """The form (as typed), the preview with its confirm form, and the earlier notices."""
    tenant_id = desk.user.tenant_id
    earlier = keyset_page(
        desk.settings,
        filters={"notices": str(tenant_id)},
        page_size=EARLIER_PAGE,
        page_token=page_token,
        fetch=lambda after, limit: views.list_notices(
            session, tenant_id=tenant_id, after=after, limit=limit
        ),
        position=lambda n: (n.created_at, n.id),
        view=lambda n: n,
    )
    return page(
        request,
        "notices.html",
        desk,
        status_code=status_code,
        active="notices",
        form=entered,
        chosen=entered.spec,
        templates=notice_templates(),
        carriers=carrier_codes(),
        statuses=[status.value for status in ScanStatus],
        refusal=refusal,
        preview=preview,
        notice_token=uuid.uuid4() if preview is not None else None,
        may_send=may_send(desk),
        earlier=earlier,
    )


@router.get("", response_class=HTMLResponse)
def notices_page(
    request: Request, desk: DeskDep, session: SessionDep, page_token: PageTokenQuery = None
) -> HTMLResponse:
    return form_page(request, desk, session, entered=blank_form(), page_token=page_token)


@router.get("/params", response_class=HTMLResponse)
def params_fragment(
    request: Request,
    desk: DeskDep,
    template_key: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """The chosen template's parameter fields (htmx swaps them in when the template changes)."""
    entered = NoticeForm(values={"template_key": template_key or ""})
    return page(request, "_notice_params.html", desk, form=entered, chosen=entered.spec)


@router.post("/preview", response_class=HTMLResponse)
def preview_notice(
    request: Request, desk: PostDep, session: SessionDep, form: FormDep
) -> HTMLResponse:
    """The dry run: how many it reaches and how, and three samples; nothing is stored."""
    entered = read_form(form)
    try:
        body = notice_body(entered, zone=desk.zone, dry_run=True)
        answer = notices.dry_run(
            session, tenant_id=desk.user.tenant_id, body=body, settings=desk.settings, now=desk.now
        )
    except AppError as exc:
        return form_page(
            request, desk, session, entered=entered, status_code=exc.status, refusal=refusal_of(exc)
        )
    return form_page(request, desk, session, entered=entered, preview=answer)


@router.post("", response_class=HTMLResponse)
def send_notice(request: Request, desk: PostDep, session: SessionDep, form: FormDep) -> Response:
    """The confirmed notice: stored, its messages queued; then its page (Post/Redirect/Get)."""
    if not may_send(desk):
        raise Forbidden("only a supervisor may send a notice to customers; you may preview it")
    entered = read_form(form)
    try:
        token = _token(str(form.get("notice_token") or ""))
        body = notice_body(entered, zone=desk.zone, dry_run=False)
        with session.begin_nested():  # a refusal undoes the claim and any half-written notice
            earlier = once.claim_token(
                session,
                user_id=desk.user.id,
                token=token,
                now=desk.now,
                ttl=timedelta(hours=desk.settings.idempotency_ttl_hours),
            )
            if earlier is not None:  # the same confirm form again: its notice, not another
                return RedirectResponse(f"/desk/notices/{earlier}", status_code=303)
            notice = notices.send_notice(
                session,
                tenant_id=desk.user.tenant_id,
                body=body,
                actor=desk_actor(desk.user),
                settings=desk.settings,
                now=desk.now,
            )
            once.bind_token(session, user_id=desk.user.id, token=token, notice_id=notice.id)
    except AppError as exc:
        return form_page(
            request, desk, session, entered=entered, status_code=exc.status, refusal=refusal_of(exc)
        )
    return RedirectResponse(f"/desk/notices/{notice.id}", status_code=303)


def _token(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(
            "notice_token", "this form was not made by a preview: preview the notice first"
        ) from None
