"""The gate every ``/v1`` request passes before anything reads its body.

In this order, each step answering problem+json at once when it refuses:

1. **Failed-authentication throttle** (429 + ``Retry-After``): a client address, or a key
   prefix (the first 12 characters of the presented key), that failed authentication
   ``RT_AUTH_FAILURES_PER_MINUTE`` times in the last 60 s is refused before any database
   lookup.
2. **Authentication** (401): the bearer key is looked up in a short transaction of its own,
   or found among the keys this process saw active in the last ``RT_API_KEY_CACHE_SECONDS``
   (``app.api.authentication``); the caller (``Principal``) is left at
   ``scope["state"]["principal"]``, where the route's ``get_principal`` and the idempotency
   middleware find it. No body byte has been read yet, so a stranger's 200 MB upload costs
   nothing but the bytes the kernel buffered.
3. **Per-key rate limit** (429 + ``Retry-After``): ``RT_RATE_LIMIT_PER_MINUTE``; every answer
   to an authenticated request carries the ``RateLimit-*`` fields.
4. **Body size** (413): over ``RT_MAX_BODY_BYTES`` (or the route's own cap in ``body_caps``)
   by ``Content-Length`` at once, or as the streamed bytes pass it (the ``receive`` channel is
   counted, never buffered).

Routes outside ``/v1`` (health, metrics, docs) pass untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.authentication import Authenticator
from app.api.problems import database_unavailable
from app.api.rate_limits import Quota, RateLimits, key_prefix_subject
from app.core.errors import Unauthorized, problem_response
from app.core.tenancy import Principal

GATED_PREFIX = "/v1"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes its cap. An ``HTTPException`` so that the
    framework treats it as the client's error (FastAPI would turn any other exception raised
    while it parses a body into a 400); the gate has answered 413 already."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request body is larger than {cap} bytes")


class BodyCaps:
    """The body cap of a path: the default, or a route's own (``*`` matches one segment)."""

    def __init__(self, default: int, by_path: Mapping[str, int]) -> None:
        self.default = default
        self._patterns = [(tuple(path.split("/")), cap) for path, cap in by_path.items()]

    def for_path(self, path: str) -> int:
        segments = path.split("/")
        for pattern, cap in self._patterns:
            if len(pattern) == len(segments) and all(
                want in ("*", have) for want, have in zip(pattern, segments, strict=True)
            ):
                return cap
        return self.default


class RequestGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        caps: BodyCaps,
        limits: RateLimits | None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.caps = caps
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == GATED_PREFIX or path.startswith(GATED_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        secret = _bearer_secret(headers.get("authorization", ""))
        client = scope.get("client")
        subjects = [f"address:{client[0] if client else 'unknown'}"]
        if secret:
            subjects.append(key_prefix_subject(secret))

        if self.limits is not None:
            wait = await self.limits.failures_wait(subjects)
            if wait is not None:
                await _answer(scope, send, _too_many_failures(wait))
                return
        principal: Principal | None = None
        if secret:
            try:
                principal = await self.authenticator.principal(secret)
            except OperationalError:
                await _answer(scope, send, database_unavailable())
                return
        if principal is None:
            if self.limits is not None:
                await self.limits.count_failure(subjects)
            await _answer(scope, send, _unauthorized(secret))
            return

        quota = await self.limits.take(str(principal.api_key_id)) if self.limits else None
        extra = quota.headers() if quota else {}
        if quota is not None and not quota.allowed:
            await _answer(scope, send, _rate_limited(quota))
            return
        scope.setdefault("state", {})["principal"] = principal
        cap = self.caps.for_path(path)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await _answer(scope, send, self._too_large(cap), extra)
            return
        await self._pass(scope, receive, send, cap, extra)

    def _too_large(self, cap: int) -> Response:
        setting = " (RT_MAX_BODY_BYTES)" if cap == self.caps.default else ""
        return problem_response(
            413,
            "Content Too Large",
            f"the request body is larger than {cap} bytes, the most this request takes{setting}",
            slug="body-too-large",
            max_bytes=cap,
            errors=[{"field": "body", "in": "body", "message": f"at most {cap} bytes"}],
        )

    async def _pass(
        self, scope: Scope, receive: Receive, send: Send, cap: int, extra: dict[str, str]
    ) -> None:
        """Run the app with the body counted as it streams and the quota added to the answer."""
        received = 0
        started = answered = False

        async def send_on(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out: whatever the app makes of the error is dropped
            if message["type"] == "http.response.start":
                started = True
                message = _with_headers(message, extra)
            await send(message)

        async def counted_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    if not started:
                        await _answer(scope, send_on, self._too_large(cap))
                        answered = True
                    raise BodyTooLarge(cap)
            return message

        try:
            await self.app(scope, counted_receive, send_on)
        except BodyTooLarge:
            if not answered:
                raise


def _bearer_secret(authorization: str) -> str:
    """The key of ``Authorization: Bearer <key>`` (any case of "bearer"), as FastAPI's
    ``HTTPBearer`` reads it; "" when there is none."""
    scheme, _, credentials = authorization.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _with_headers(message: Message, extra: dict[str, str]) -> Message:
    if not extra:
        return message
    added = [(name.lower().encode(), value.encode()) for name, value in extra.items()]
    return {**message, "headers": [*message.get("headers", []), *added]}


async def _answer(
    scope: Scope, send: Send, response: Response, extra: dict[str, str] | None = None
) -> None:
    """Send ``response`` without reading the request body (the client may still be sending)."""
    if extra:
        response.headers.update(extra)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _unauthorized(secret: str) -> Response:
    error = Unauthorized(
        "the API key is unknown or revoked" if secret else "send 'Authorization: Bearer <api key>'"
    )
    return problem_response(
        error.status, error.title, error.detail, slug=error.slug, headers=error.headers
    )


def _too_many_failures(wait: int) -> Response:
    return problem_response(
        429,
        "Too Many Requests",
        f"too many failed authentications from this address or with this key; retry in {wait} s",
        slug="authentication-throttled",
        headers={"Retry-After": str(wait)},
    )


def _rate_limited(quota: Quota) -> Response:
    wait = max(1, quota.reset_seconds)
    return problem_response(
        429,
        "Too Many Requests",
        f"this API key made {quota.limit} requests in the last minute, its limit; "
        f"retry in {wait} s",
        slug="rate-limited",
        headers={"Retry-After": str(wait), **quota.headers()},
    )
