"""``/desk/people``: the tenant's people, and the forms that add one, change a role, disable
someone and reset a password, each calling ``app.people.service`` as the ``users`` commands do.

Admins only (``Permission.MANAGE_PEOPLE``): anyone else gets a 403 page, and no link to it. A
refused form (a taken e-mail, a short password) comes back as this page with the reason and
what was typed (never a password), not as an error page. A password, typed or generated, is
stored only hashed; a generated one is shown once, in the answer to the form that made it, so
that answer is a page, not a redirect. An admin can neither disable themselves nor change their
own role: another admin must, so a slip cannot leave a tenant without one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from app.core.models import Tenant
from app.desk.web.auth import Desk, DeskDep, PostDep
from app.desk.web.render import page
from app.people import service as people
from app.people.models import User
from app.people.passwords import generate_password
from app.people.roles import ROLES

router = APIRouter(prefix="/people", route_class=UnitOfWorkRoute)
# what a refused form kept: the add form's fields as typed, so nothing has to be typed again
TYPED_FIELDS = ("email", "name", "role")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a form was refused: which form (``add`` or a person's id), which field, and why."""

    form: str
    field: str
    message: str
    about: str = ""  # the person the form was for, when it was a row's form


@dataclass(frozen=True, slots=True)
class NewPassword:
    """A generated password, shown in this one answer and never again."""

    email: str
    password: str


def _admin(desk: Desk) -> Desk:
    if not desk.may_manage_people:
        raise Forbidden("only an admin may manage people")
    return desk


def _tenant(session: Session, desk: Desk) -> Tenant:
    tenant = session.get(Tenant, desk.user.tenant_id)
    assert tenant is not None  # a user's tenant is a foreign key
    return tenant


def _person(session: Session, desk: Desk, user_id: uuid.UUID) -> User:
    """A person of the admin's tenant; another tenant's is as absent as a made-up id."""
    user = session.get(User, user_id)
    if user is None or user.tenant_id != desk.user.tenant_id:
        raise NotFound(f"there is no person {user_id} in this tenant")
    return user


def _refusal(exc: AppError, *, form: str, about: str = "") -> Refusal:
    errors = exc.extensions.get("errors") or []
    if errors:
        return Refusal(form, str(errors[0]["field"]), str(errors[0]["message"]), about)
    field = "email" if isinstance(exc, Conflict) and form == "add" else "form"
    return Refusal(form, field, exc.detail, about)


def _page(
    request: Request,
    session: Session,
    desk: Desk,
    *,
    status_code: int = 200,
    refusal: Refusal | None = None,
    typed: dict[str, str] | None = None,
    notice: str | None = None,
    new_password: NewPassword | None = None,
) -> HTMLResponse:
    return page(
        request,
        "people.html",
        desk,
        status_code=status_code,
        active="people",
        people=people.list_users(session, tenant=_tenant(session, desk)),
        roles=ROLES,
        min_length=desk.settings.password_min_length,
        refusal=refusal,
        typed=typed or {"role": "agent"},
        notice=notice,
        new_password=new_password,
    )


def _back(user: User | None = None) -> RedirectResponse:
    anchor = f"#person-{user.id}" if user is not None else ""
    return RedirectResponse(f"/desk/people{anchor}", status_code=303)


@router.get("", response_class=HTMLResponse)
def people_page(request: Request, desk: DeskDep, session: SessionDep) -> HTMLResponse:
    return _page(request, session, _admin(desk))


@router.post("", response_model=None)
def add_person(
    request: Request,
    desk: PostDep,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Left empty, the password is generated and shown once on the page this form answers."""
    _admin(desk)
    generated = not password
    chosen = generate_password(desk.settings.password_min_length) if generated else password
    try:
        user = people.create_user(
            session,
            tenant=_tenant(session, desk),
            email=email,
            display_name=name,
            role=role,
            password=chosen,
            password_min_length=desk.settings.password_min_length,
            now=desk.now,
        )
    except (ValidationFailed, Conflict) as exc:
        typed = {"email": email, "name": name, "role": role}
        return _page(
            request,
            session,
            desk,
            status_code=exc.status,
            refusal=_refusal(exc, form="add"),
            typed=typed,
        )
    if not generated:
        return _back(user)
    return _page(
        request,
        session,
        desk,
        notice=f"Added {user.display_name} ({user.role}).",
        new_password=NewPassword(user.email, chosen),
    )


@router.post("/{user_id}/role", response_model=None)
def change_role(
    user_id: uuid.UUID,
    request: Request,
    desk: PostDep,
    session: SessionDep,
    role: Annotated[str, Form()] = "",
) -> Response:
    _admin(desk)
    user = _person(session, desk, user_id)
    try:
        if user.id == desk.user.id:
            raise ValidationFailed("role", "you cannot change your own role: another admin can")
        people.change_role(session, user, role=role)
    except ValidationFailed as exc:
        refusal = _refusal(exc, form=str(user.id), about=user.email)
        return _page(request, session, desk, status_code=exc.status, refusal=refusal)
    return _back(user)


@router.post("/{user_id}/disable", response_model=None)
def disable(user_id: uuid.UUID, request: Request, desk: PostDep, session: SessionDep) -> Response:
    """Their sessions end at once (``disable_user`` moves their session epoch on)."""
    _admin(desk)
    user = _person(session, desk, user_id)
    if user.id == desk.user.id:
        refusal = Refusal(
            str(user.id), "disable", "you cannot disable yourself: another admin can", user.email
        )
        return _page(request, session, desk, status_code=422, refusal=refusal)
    people.disable_user(session, user, now=desk.now)
    return _back(user)


@router.post("/{user_id}/password", response_model=None)
def reset_password(
    user_id: uuid.UUID,
    request: Request,
    desk: PostDep,
    session: SessionDep,
    password: Annotated[str, Form()] = "",
) -> Response:
    """A new password (left empty: generated, shown once); their open sessions end."""
    _admin(desk)
    user = _person(session, desk, user_id)
    chosen = password or generate_password(desk.settings.password_min_length)
    try:
        people.reset_password(
            session,
            user,
            password=chosen,
            password_min_length=desk.settings.password_min_length,
            now=desk.now,
        )
    except ValidationFailed as exc:
        refusal = _refusal(exc, form=str(user.id), about=user.email)
        return _page(request, session, desk, status_code=exc.status, refusal=refusal)
    if user.id == desk.user.id:
        notice = "Your password is changed and your sessions have ended: sign in again with it."
    else:
        notice = f"New password for {user.display_name}: every session they had has ended."
    shown = None if password else NewPassword(user.email, chosen)
    return _page(request, session, desk, notice=notice, new_password=shown)
