"""Signing in and out of the desk.

Sign-in goes through ``app.people.sign_in`` (Argon2, throttled per account and address); a
refusal is returned, so the failure it counted is committed with the request. The form has
its own CSRF token (``login_csrf``) since there is no session yet.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import NowDep, SessionDep, SettingsDep
from app.api.request_unit import UnitOfWorkRoute
from app.core.settings import Settings
from app.desk.web import login_csrf
from app.desk.web.auth import CsrfRefused, PostDep, is_https, session_tokens
from app.desk.web.errors import safe_next
from app.desk.web.headers import REFRESHED_COOKIE, session_cookie
from app.desk.web.render import page
from app.people.sessions import COOKIE_NAME, resume
from app.people.sign_in import SignInRefused, sign_in

router = APIRouter(route_class=UnitOfWorkRoute)
NextQuery = Annotated[str | None, Query(alias="next", max_length=2000)]


def _form(
    request: Request,
    settings: Settings,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    tenants: tuple[str, ...] = (),
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    nonce = request.cookies.get(login_csrf.COOKIE_NAME) or login_csrf.new_nonce()
    response = page(
        request,
        "login.html",
        None,
        status_code=status_code,
        headers=headers,
        login_token=login_csrf.token_for(settings, nonce),
        next_path=next_path,
        email=email,
        error=error,
        tenants=tenants,
    )
    response.set_cookie(
        login_csrf.COOKIE_NAME,
        nonce,
        path=login_csrf.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def sign_in_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    next_path: NextQuery = None,
) -> Response:
    tokens = session_tokens(request, settings)
    if resume(session, tokens, request.cookies.get(COOKIE_NAME), now=now) is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _form(request, settings, next_path=safe_next(next_path))


@router.post("/login", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str | None, Form()] = None,
    next_path: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
    tenant: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    if not login_csrf.token_ok(settings, request.cookies.get(login_csrf.COOKIE_NAME), csrf_token):
        raise CsrfRefused()
    target = safe_next(next_path)
    outcome = sign_in(
        session,
        settings=settings,
        email=email,
        password=password,
        client_address=request.client.host if request.client else None,
        now=now,
        tenant=tenant or None,
    )
    if isinstance(outcome, SignInRefused):
        return _refused(request, settings, outcome, email=email, next_path=target)
    tokens = session_tokens(request, settings)
    response = RedirectResponse(target, status_code=303)
    max_age = int(tokens.idle.total_seconds())
    response.headers.append(
        "Set-Cookie",
        session_cookie(tokens.issue(outcome, now=now), max_age=max_age, secure=is_https(request)),
    )
    response.delete_cookie(login_csrf.COOKIE_NAME, path=login_csrf.COOKIE_PATH)
    return response


def _refused(
    request: Request, settings: Settings, refused: SignInRefused, *, email: str, next_path: str
) -> HTMLResponse:
    if refused.reason == "throttled":
        seconds = refused.retry_after_seconds or 60
        minutes = max(1, -(-seconds // 60))
        return _form(
            request,
            settings,
            next_path=next_path,
            email=email,
            error=f"Too many failed sign-ins. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
    if refused.reason == "choose_tenant":
        return _form(
            request,
            settings,
            next_path=next_path,
            email=email,
            error="This e-mail works for several tenants: choose one.",
            tenants=refused.tenants,
        )
    return _form(
        request,
        settings,
        next_path=next_path,
        email=email,
        error="The e-mail or the password is wrong.",
        status_code=401,
    )


@router.post("/logout")
def sign_out(request: Request, desk: PostDep) -> Response:
    """Clears the cookie in this browser (other signed-in browsers keep theirs)."""
    setattr(request.state, REFRESHED_COOKIE, None)
    response = RedirectResponse("/desk/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/desk")
    return response
