"""FedEx Track API v1: OAuth2 client credentials, up to 30 numbers per POST.

Why it looks like this (facts and sources in ``docs/carriers.md`` §2):

- A bearer token from ``POST /oauth/token`` (form body with client_id/client_secret) lives
  60 minutes; ``ClientCredentialsToken`` caches it and renews it early. FedEx also answers 401
  ``NOT.AUTHORIZED.ERROR`` for a token that expired early, so one 401 from the tracking call
  drops the token and retries once with a fresh one.
- ``POST /track/v1/trackingnumbers`` takes up to 30 numbers with ``includeDetailedScans`` (the
  only way to get ``scanEvents``). A known ship date narrows the search window so a reused
  number does not answer with somebody else's old shipment.
- Per project FedEx allows 1,400 transactions per 10 s and 100,000 Track requests a day, then
  answers 429 until 00:00 GMT; both are settings so a bigger contract needs no code change.
- Parsing is pure and lives in ``adapters/fedex_parse.py``; ``STATUS_TABLE``, ``status_for``
  and ``parse_tracking`` are re-exported here, as every carrier module does.

Whole-call failures (everything else is a per-number ``TrackingResult``)::

    CarrierError                  a 4xx FedEx documents as a bad request (400, 404 ...)
    ├── CarrierAuthError          unconfigured; token refused; 401/403 after one fresh token
    ├── CarrierRateLimited        429 (per-10-s limit or daily quota), Retry-After honoured
    ├── CarrierUnavailable        timeouts, connection errors, 5xx, breaker open
    └── CarrierMalformedResponse  body is not JSON or not the Track API's shape
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters._http import CarrierHttpClient, HttpPolicy, load_json
from adapters._oauth import ClientCredentialsToken
from adapters.base import (
    Capabilities,
    CarrierAuthError,
    CarrierError,
    CarrierHealth,
    Network,
    TrackingQuery,
    TrackingResult,
)
from adapters.checkdigits import PAGE_NUMBER, fill_page, is_valid_fedex, normalise_number
from adapters.fedex_parse import (
    CARRIER,
    NOT_FOUND_CODES,
    STATUS_TABLE,
    parse_tracking,
    status_for,
)

__all__ = [
    "STATUS_TABLE",
    "FedexAdapter",
    "FedexSettings",
    "build_headers",
    "build_request",
    "parse_tracking",
    "status_for",
]

PRODUCTION_URL = "https://apis.fedex.com"
OAUTH_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"
PUBLIC_TRACKING_URL = "https://www.fedex.com/fedextrack/?trknbr=" + PAGE_NUMBER
BATCH_SIZE = 30  # FedEx's documented maximum of tracking numbers per request
SHIP_DATE_BEFORE = timedelta(days=7)
SHIP_DATE_AFTER = timedelta(days=7)


class FedexSettings(BaseSettings):
    """``RT_FEDEX_*``: the project's API key pair and FedEx's documented limits."""

    model_config = SettingsConfigDict(env_prefix="RT_FEDEX_", extra="ignore")

    client_id: SecretStr | None = Field(
        default=None, description="API key (client_id) of the FedEx Developer Portal project."
    )
    client_secret: SecretStr | None = Field(
        default=None, description="Secret key (client_secret) of the same project."
    )
    base_url: str = Field(
        default=PRODUCTION_URL,
        description="Production https://apis.fedex.com; sandbox https://apis-sandbox.fedex.com.",
    )
    requests_per_second: float = Field(
        default=140.0,
        ge=0,
        description="FedEx allows 1,400 transactions per 10 s per project (ratelimits "
        "guide); 0 turns our pacing off and leaves it to FedEx's 429s.",
    )
    max_concurrency: int = Field(
        default=4,
        ge=1,
        description="Calls in flight at once; FedEx publishes no figure, this is our choice.",
    )
    daily_quota: int | None = Field(
        default=100_000,
        ge=1,
        description="Track capability quota per project per day (FedEx default 100,000); "
        "FedEx answers 429 until 00:00 GMT once it is used.",
    )


def build_request(queries: Sequence[TrackingQuery], *, today: date | None = None) -> dict[str, Any]:
    """The JSON body of one ``trackingnumbers`` call (at most ``BATCH_SIZE`` distinct numbers).

    With ``today`` and a query's ``shipped_at``, the number gets a ship-date window of a week
    either side (never past ``today``), which FedEx recommends to avoid reused-number duplicates.
    """
    seen: set[str] = set()
    tracking_info: list[dict[str, Any]] = []
    for query in queries:
        number = normalise_number(query.number)
        if number in seen:
            continue
        seen.add(number)
        info: dict[str, Any] = {"trackingNumberInfo": {"trackingNumber": number}}
        if today is not None and query.shipped_at is not None:
            info.update(_ship_date_window(query.shipped_at, today))
        tracking_info.append(info)
    if len(tracking_info) > BATCH_SIZE:
        raise ValueError(f"FedEx tracks at most {BATCH_SIZE} numbers per call")
    return {"includeDetailedScans": True, "trackingInfo": tracking_info}


def _ship_date_window(shipped_at: datetime, today: date) -> dict[str, str]:
    shipped = (shipped_at if shipped_at.tzinfo else shipped_at.replace(tzinfo=UTC)).astimezone(UTC)
    begin = (shipped - SHIP_DATE_BEFORE).date()
    end = min((shipped + SHIP_DATE_AFTER).date(), today)
    if end < begin:  # a ship date in the future is a typo; do not let it hide the parcel
        return {}
    return {"shipDateBegin": begin.isoformat(), "shipDateEnd": end.isoformat()}


def build_headers(token: str) -> dict[str, str]:
    """FedEx requires the bearer token and a JSON content type; en_US keeps texts comparable."""
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "X-locale": "en_US",
    }


class FedexAdapter:
    """FedEx through its Track API; see the module docstring."""

    code = CARRIER
    name = "FedEx"
    page_template: str | None = PUBLIC_TRACKING_URL
    network: Network = "express"

    def __init__(
        self,
        settings: FedexSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: HttpPolicy | None = None,
    ) -> None:
        self.settings = settings or FedexSettings()
        self.capabilities = Capabilities(
            batch_size=BATCH_SIZE,
            requests_per_second=self.settings.requests_per_second,
            max_concurrency=self.settings.max_concurrency,
            daily_quota=self.settings.daily_quota,
        )
        self._http = CarrierHttpClient(
            CARRIER,
            self.settings.base_url,
            self.capabilities,
            policy,
            transport=transport,
        )
        self._token: ClientCredentialsToken | None = None
        if self.configured and self.settings.client_id and self.settings.client_secret:
            self._token = ClientCredentialsToken(
                self._http,
                OAUTH_PATH,
                self.settings.client_id.get_secret_value(),
                self.settings.client_secret.get_secret_value(),
                basic_auth=False,
            )

    @property
    def configured(self) -> bool:
        return not self._missing_settings()

    def health(self) -> CarrierHealth:
        return self._http.health()

    def tracking_url(self, number: str) -> str:
        return fill_page(PUBLIC_TRACKING_URL, number)

    def matches(self, number: str) -> bool:
        return is_valid_fedex(number)

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        if not queries:
            return []
        if self._token is None:
            names = " and ".join(self._missing_settings())
            raise CarrierAuthError(CARRIER, f"FedEx is not configured: set {names}")
        results: list[TrackingResult] = []
        for start in range(0, len(queries), BATCH_SIZE):
            results.extend(
                await self._fetch_batch(self._token, queries[start : start + BATCH_SIZE])
            )
        return results

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _fetch_batch(
        self, token: ClientCredentialsToken, queries: Sequence[TrackingQuery]
    ) -> list[TrackingResult]:
        body = build_request(queries, today=datetime.now(UTC).date())
        response = await self._post_track(token, body)
        numbers = [q.number for q in queries]
        if response.status_code == 404:
            return _all_not_found(response, numbers)
        return parse_tracking(load_json(CARRIER, response), numbers)

    async def _post_track(
        self, token: ClientCredentialsToken, body: dict[str, Any]
    ) -> httpx.Response:
        """One tracking call; a 401 drops the cached token and retries once with a fresh one."""
        response = await self._send(token, body, accept_statuses={401, 404})
        if response.status_code == 401:
            self._http.record_failure("HTTP 401: bearer token refused, fetching a new one")
            token.invalidate()
            response = await self._send(token, body, accept_statuses={404})
        return response

    async def _send(
        self, token: ClientCredentialsToken, body: dict[str, Any], *, accept_statuses: set[int]
    ) -> httpx.Response:
        return await self._http.request(
            "POST",
            TRACK_PATH,
            json=body,
            headers=build_headers(await token.get()),
            accept_statuses=accept_statuses,
        )

    def _missing_settings(self) -> list[str]:
        pairs = (
            ("RT_FEDEX_CLIENT_ID", self.settings.client_id),
            ("RT_FEDEX_CLIENT_SECRET", self.settings.client_secret),
        )
        return [name for name, value in pairs if value is None or not value.get_secret_value()]


def _all_not_found(response: httpx.Response, numbers: Sequence[str]) -> list[TrackingResult]:
    """A 404 whose errors say the number is unknown: every number of the call is not found.

    FedEx documents unknown numbers inside a 200; this covers the 404 some clients report.
    """
    try:
        data: Any = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        data = None
    errors = data.get("errors") if isinstance(data, dict) else None
    listed = errors if isinstance(errors, list) else []
    if {e.get("code") for e in listed if isinstance(e, dict)} & NOT_FOUND_CODES:
        return [TrackingResult.not_found(n) for n in numbers]
    snippet = response.content[:300].decode("utf-8", "replace")
    raise CarrierError(CARRIER, f"request refused (HTTP 404): {snippet}")
