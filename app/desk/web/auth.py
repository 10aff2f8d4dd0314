"""The signed-in person of a desk request, and the CSRF check every desk form passes.

A request without a live session raises ``SignInRequired`` (the desk answers with a redirect
to the sign-in page); a POST whose ``csrf_token`` is missing or not this session's raises
``CsrfRefused`` (a 403 page). The session cookie is re-issued on every page, so its idle time
starts again; ``DeskHeaders`` sets it on the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Header, Request

from app.api.deps import NowDep, SessionDep, SettingsDep
from app.core.settings import Settings
from app.desk.web.headers import REFRESHED_COOKIE
from app.people.models import User
from app.people.roles import Permission, can
from app.people.sessions import COOKIE_NAME, SessionClaims, SessionTokens, resume

COOKIE_PATH = "/desk"


class SignInRequired(Exception):
    """No live session: send the browser to the sign-in page, then back to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form without this session's CSRF token (or the sign-in form without its own)."""


def session_tokens(request: Request, settings: Settings) -> SessionTokens:
    """One ``SessionTokens`` per desk application (it derives its keys once)."""
    tokens: SessionTokens | None = getattr(request.app.state, "session_tokens", None)
    if tokens is None:
        tokens = request.app.state.session_tokens = SessionTokens.from_settings(settings)
    return tokens


@dataclass(frozen=True, slots=True)
class Desk:
    """The signed-in person and what every page needs to show and to post forms."""

    user: User
    claims: SessionClaims
    csrf_token: str
    now: datetime
    zone: ZoneInfo
    settings: Settings

    def can(self, permission: Permission) -> bool:
        return can(self.user.role, permission)

    @property
    def may_approve(self) -> bool:
        return self.can(Permission.APPROVE_COMPENSATION)

    @property
    def may_manage_people(self) -> bool:
        return self.can(Permission.MANAGE_PEOPLE)


def _wanted_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query and request.method == "GET" else "")


def signed_in(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> Desk:
    tokens = session_tokens(request, settings)
    found = resume(session, tokens, request.cookies.get(COOKIE_NAME), now=now)
    if found is None:
        raise SignInRequired(_wanted_path(request) if request.method == "GET" else "/desk/")
    setattr(request.state, REFRESHED_COOKIE, tokens.touch(found.claims, now=now))
    return Desk(
        user=found.user,
        claims=found.claims,
        csrf_token=tokens.csrf_token(found.claims),
        now=now,
        zone=ZoneInfo(settings.desk_timezone),
        settings=settings,
    )


DeskDep = Annotated[Desk, Depends(signed_in)]


async def form_checked(
    request: Request,
    desk: DeskDep,
    settings: SettingsDep,
    csrf_token: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> Desk:
    """The signed-in person of a POST that carries their session's CSRF token."""
    sent = csrf_token or x_csrf_token
    if not session_tokens(request, settings).csrf_ok(desk.claims, sent):
        raise CsrfRefused()
    return desk


PostDep = Annotated[Desk, Depends(form_checked)]


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"
