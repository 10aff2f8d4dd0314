"""Headers on every desk answer: a strict Content-Security-Policy, no framing, no caching of
pages that show customers' data, the refreshed session cookie; and the body cap the ``/v1``
gate enforces there, here for the desk's forms and uploads.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.gate import BodyTooLarge
from app.people.sessions import COOKIE_NAME

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
REFRESHED_COOKIE = "desk_cookie"


def session_cookie(value: str, *, max_age: int, secure: bool) -> str:
    """A ``Set-Cookie`` value for the desk session (HttpOnly, SameSite=Lax, path /desk)."""
    parts = [f"{COOKIE_NAME}={value}", "Path=/desk", f"Max-Age={max_age}", "HttpOnly"]
    parts.append("SameSite=Lax")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class DeskHeaders:
    """Pure ASGI, so it wraps streamed files and uploads without buffering them."""

    def __init__(
        self, app: ASGIApp, *, body_cap: Callable[[str], int], cookie_max_age: int
    ) -> None:
        self.app = app
        self.body_cap = body_cap
        self.cookie_max_age = cookie_max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        is_static = path.startswith("/desk/static/")
        cap = self.body_cap(path)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > cap:
                await _too_large(cap)(scope, receive, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not is_static:
                    headers.setdefault("Cache-Control", "no-store")
                refreshed = scope.get("state", {}).get(REFRESHED_COOKIE)
                already = any(
                    v.startswith(f"{COOKIE_NAME}=") for v in headers.getlist("set-cookie")
                )
                if refreshed and not already:
                    secure = scope.get("scheme") == "https"
                    headers.append(
                        "Set-Cookie",
                        session_cookie(refreshed, max_age=self.cookie_max_age, secure=secure),
                    )
            await send(message)

        await self.app(scope, counted, with_headers)


def _too_large(cap: int) -> PlainTextResponse:
    """Refused before a byte is read (no page: the app has not run, there is no person yet)."""
    return PlainTextResponse(
        f"The upload is larger than {cap} bytes, the most this form takes.",
        status_code=413,
        headers=SECURITY_HEADERS,
    )
