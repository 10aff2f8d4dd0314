"""The desk's errors are pages: sign in again, 403 for a bad form, 404, 4xx with the reason.

Problem+json is the API's answer; a person in a browser gets the same facts as a page with
the way back.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from app.core.errors import AppError
from app.desk.web.auth import CsrfRefused, SignInRequired
from app.desk.web.render import page
from app.people.sessions import COOKIE_NAME


def safe_next(path: str | None) -> str:
    """Only a path inside the desk: never another site (``//evil``, ``https://``)."""
    if not path or not path.startswith("/desk") or path.startswith("//") or "\\" in path:
        return "/desk/"
    return path


def _sign_in_again(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = "/desk/login"
    wanted = safe_next(exc.next_path)
    if wanted != "/desk/":
        target += "?next=" + quote(wanted, safe="/")
    response = RedirectResponse(target, status_code=303)
    if COOKIE_NAME in request.cookies:
        response.delete_cookie(COOKIE_NAME, path="/desk")
    if request.headers.get("hx-request"):  # htmx swaps fragments: make it load the page
        response.headers["HX-Redirect"] = target
    return response


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return page(request, "error.html", None, status_code=status, title=title, detail=detail)


def _csrf(request: Request, exc: Exception) -> Response:
    return _error_page(
        request,
        403,
        "This form has expired",
        "The form was sent without the security token of your session (or with another "
        "session's). Go back, reload the page and send it again.",
    )


def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return _error_page(request, exc.status, exc.title, exc.detail)


def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
        lines.append(f"{where}: {error.get('msg', 'invalid')}")
    return _error_page(request, 422, "Some fields need another look", "; ".join(lines))


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 413: "Too large"}
    return _error_page(
        request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail)
    )


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, _sign_in_again)
    app.add_exception_handler(CsrfRefused, _csrf)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
