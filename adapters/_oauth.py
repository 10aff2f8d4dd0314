"""OAuth2 client-credentials tokens (FedEx, UPS): fetched once, reused, renewed before expiry.

Both carriers limit token requests and reject an expired token with 401, so the token is
cached per adapter, renewed ``renew_before`` seconds early (at most half its lifetime early, so
a short-lived token is not fetched again on every call), and renewed by one caller at a time
while the others wait for it. A refused token request (400/401/403) is ``CarrierAuthError``
and shows in the carrier's health.
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import Callable
from typing import Any

from adapters._http import CarrierHttpClient, load_json
from adapters.base import CarrierAuthError, CarrierMalformedResponse


class ClientCredentialsToken:
    """A bearer token for ``client_id``/``client_secret``; ``get()`` is cheap when cached."""

    def __init__(
        self,
        http: CarrierHttpClient,
        token_path: str,
        client_id: str,
        client_secret: str,
        *,
        basic_auth: bool,
        clock: Callable[[], float] = time.monotonic,
        renew_before: float = 60.0,
    ) -> None:
        self._http, self._path = http, token_path
        self._client_id, self._client_secret = client_id, client_secret
        self._basic_auth, self._clock, self._renew_before = basic_auth, clock, renew_before
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():
                await self._renew()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the token (the carrier refused it); the next ``get()`` fetches a new one."""
        self._token, self._renew_at = None, 0.0

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._renew_at

    async def _renew(self) -> None:
        carrier = self._http.carrier
        form: dict[str, str] = {"grant_type": "client_credentials"}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self._basic_auth:
            pair = f"{self._client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": self._client_id, "client_secret": self._client_secret}
        response = await self._http.request(
            "POST", self._path, data=form, headers=headers, accept_statuses={400, 401, 403}
        )
        if response.status_code != 200:
            message = f"token request refused (HTTP {response.status_code})"
            self._http.record_failure(message)
            raise CarrierAuthError(carrier, message)
        body: Any = load_json(carrier, response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise CarrierMalformedResponse(carrier, "token response has no access_token", str(body))
        lifetime = _seconds(body.get("expires_in"))
        self._token = token
        self._renew_at = self._clock() + lifetime - min(self._renew_before, lifetime / 2)


def _seconds(value: object) -> float:
    """``expires_in`` as seconds; UPS sends a string, FedEx a number. Unknown: five minutes."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 300.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 300.0
