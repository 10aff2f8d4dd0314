"""UPS: Track API v1 (OAuth2 client credentials) behind the one normalised scan model.

Why it looks like this (facts in ``docs/carriers.md`` §3):

- **One number per call.** ``GET /api/track/v1/details/{inquiryNumber}`` answers a single
  inquiry number, so ``batch_size`` is 1 and a batch is fetched as one call per number,
  concurrently, bounded by ``CarrierHttpClient``'s semaphore and pace. Per-number outcomes
  (found / not_found / error) are data; a carrier-wide failure raises.
- **Auth.** A bearer token from ``POST /security/v1/oauth/token`` (HTTP Basic with the client
  id and secret) is cached by ``ClientCredentialsToken``. UPS rejects an expired or revoked
  token with 401, so a 401 from the tracking call drops the token and retries once with a
  fresh one; a second 401 (or a 403 "blocked merchant") is ``CarrierAuthError``.
- **Every call is traceable.** UPS requires ``transId`` (unique per request, at most 32
  characters: a uuid4 hex) and ``transactionSrc`` (our application name).
- **Not found is not an error.** UPS answers an unknown number with HTTP 200 and a
  ``TW0001`` warning, and documents 404 / 400 error bodies (e.g. ``151018`` invalid
  tracking number); all of these become ``TrackingResult.not_found`` (see ``ups_parse``).
- **Rate limits are not published** (UPS answers 429 and asks customers to email): the
  pace and concurrency below are our conservative defaults, tunable by environment.
- **Parsing is pure** and lives in ``adapters/ups_parse.py``; ``STATUS_TABLE``,
  ``status_for`` and ``parse_tracking`` are re-exported here, as every carrier module does.

Whole-call failures (``adapters.base``)::

    CarrierError
    ├── CarrierAuthError          unconfigured, token refused, 401 twice, 403
    ├── CarrierRateLimited        429 (Retry-After honoured and reported)
    ├── CarrierUnavailable        timeouts, connection errors, 5xx, breaker open
    └── CarrierMalformedResponse  body not JSON or not the documented shape
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

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
from adapters.checkdigits import PAGE_NUMBER, fill_page, is_valid_ups_1z, normalise_number
from adapters.ups_parse import (
    ACTIVITY_TYPES,
    NOT_FOUND_CODES,
    STATUS_TABLE,
    parse_tracking,
    status_for,
)

__all__ = [
    "ACTIVITY_TYPES",
    "NOT_FOUND_CODES",
    "STATUS_TABLE",
    "TrackingRequest",
    "UpsAdapter",
    "UpsSettings",
    "build_request",
    "new_trans_id",
    "parse_tracking",
    "status_for",
]

PRODUCTION_URL = "https://onlinetools.ups.com"
TOKEN_PATH = "/security/v1/oauth/token"  # noqa: S105 - a URL path, not a secret
TRACK_PATH = "/api/track/v1/details/{number}"
TRANSACTION_SOURCE = "resolution-tracker"
PUBLIC_TRACKING_URL = "https://www.ups.com/track?loc=en_US&tracknum=" + PAGE_NUMBER
# 400/404 carry UPS's error envelope for a number it rejects or does not know: data, not failure
_PER_NUMBER_STATUSES = frozenset({400, 404})


class UpsSettings(BaseSettings):
    """UPS credentials and limits, read from ``RT_UPS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="RT_UPS_", extra="ignore")

    client_id: SecretStr | None = Field(
        default=None, description="OAuth client id of the UPS developer app (RT_UPS_CLIENT_ID)."
    )
    client_secret: SecretStr | None = Field(
        default=None, description="OAuth client secret of the UPS app (RT_UPS_CLIENT_SECRET)."
    )
    base_url: str = Field(
        default=PRODUCTION_URL,
        description="UPS API host: production onlinetools.ups.com; CIE test is https://wwwcie.ups.com.",
    )
    requests_per_second: float = Field(
        default=3.0,
        ge=0,
        description="Pace of tracking calls. UPS publishes no limit (it answers 429); our default.",
    )
    max_concurrency: int = Field(
        default=4,
        ge=1,
        description="Tracking calls in flight at once. UPS publishes no limit; our default.",
    )
    daily_quota: int | None = Field(
        default=None,
        ge=1,
        description="Calls per day; UPS publishes none. Set it if your UPS agreement states one.",
    )


@dataclass(frozen=True, slots=True)
class TrackingRequest:
    """One Track API call, built without I/O so it can be tested on its own."""

    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]


def new_trans_id() -> str:
    """A fresh ``transId``: UPS wants it unique per request and at most 32 characters."""
    return uuid.uuid4().hex


def build_request(
    number: str,
    *,
    token: str,
    trans_id: str,
    transaction_src: str = TRANSACTION_SOURCE,
    locale: str = "en_US",
) -> TrackingRequest:
    """The GET for one inquiry number; images and POD are off (we store no signatures)."""
    if not 0 < len(trans_id) <= 32:
        raise ValueError("UPS transId must be 1 to 32 characters")
    return TrackingRequest(
        path=TRACK_PATH.format(number=quote(normalise_number(number), safe="")),
        params={
            "locale": locale,
            "returnSignature": "false",
            "returnMilestones": "false",
            "returnPOD": "false",
        },
        headers={
            "Authorization": f"Bearer {token}",
            "transId": trans_id,
            "transactionSrc": transaction_src,
        },
    )


class UpsAdapter:
    """UPS tracking through the Track API v1; see the module docstring."""

    code = "ups"
    name = "UPS"
    page_template: str | None = PUBLIC_TRACKING_URL
    network: Network = "express"

    def __init__(
        self,
        settings: UpsSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: HttpPolicy | None = None,
    ) -> None:
        self.settings = settings if settings is not None else UpsSettings()
        self.capabilities = Capabilities(
            batch_size=1,
            requests_per_second=self.settings.requests_per_second,
            max_concurrency=self.settings.max_concurrency,
            daily_quota=self.settings.daily_quota,
        )
        self._http = CarrierHttpClient(
            self.code,
            self.settings.base_url,
            self.capabilities,
            policy,
            transport=transport,
        )
        self._token: ClientCredentialsToken | None = None
        client_id, client_secret = (
            _secret(self.settings.client_id),
            _secret(self.settings.client_secret),
        )
        if client_id and client_secret:
            self._token = ClientCredentialsToken(
                self._http, TOKEN_PATH, client_id, client_secret, basic_auth=True
            )

    @property
    def configured(self) -> bool:
        return bool(_secret(self.settings.client_id) and _secret(self.settings.client_secret))

    def health(self) -> CarrierHealth:
        return self._http.health()

    def tracking_url(self, number: str) -> str:
        return fill_page(PUBLIC_TRACKING_URL, number)

    def matches(self, number: str) -> bool:
        return is_valid_ups_1z(number)

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """One call per number, concurrently; a carrier-wide failure (credentials, quota) is
        raised, and a number whose own call failed gets an ``unanswered`` result."""
        if self._token is None:
            missing = [
                f"RT_UPS_{name.upper()}"
                for name in ("client_id", "client_secret")
                if not _secret(getattr(self.settings, name))
            ]
            raise CarrierAuthError(self.code, f"not configured: set {' and '.join(missing)}")
        token = self._token
        outcomes: Sequence[TrackingResult | BaseException]
        if len(queries) == 1:  # how the poller asks (batch size 1): no task for one call
            try:
                outcomes = [await self._fetch_one(token, queries[0])]
            except CarrierError as error:
                outcomes = [error]
        else:
            outcomes = await asyncio.gather(
                *(self._fetch_one(token, query) for query in queries), return_exceptions=True
            )
        results: list[TrackingResult] = []
        for query, outcome in zip(queries, outcomes, strict=True):
            if isinstance(outcome, CarrierError) and not outcome.carrier_wide:
                # that number's call failed: its own result, never its neighbours' problem
                results.append(TrackingResult.unanswered(query.number, outcome))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results.append(outcome)
        return results

    async def _fetch_one(
        self, token: ClientCredentialsToken, query: TrackingQuery
    ) -> TrackingResult:
        number = query.number
        bearer = await token.get()
        response = await self._track(number, bearer, accept_401=True)
        if response.status_code == 401:  # expired or revoked token: one fresh try
            self._http.record_failure("HTTP 401: bearer token refused, fetching a new one")
            if await token.get() == bearer:  # not already renewed by a concurrent call
                token.invalidate()
            response = await self._track(number, await token.get(), accept_401=False)
        body = load_json(self.code, response)
        return parse_tracking(
            body,
            [number],
            http_status=response.status_code,
            destination_country=query.destination_country,
        )[0]

    async def _track(self, number: str, bearer: str, *, accept_401: bool) -> httpx.Response:
        request = build_request(number, token=bearer, trans_id=new_trans_id())
        accept = _PER_NUMBER_STATUSES | {401} if accept_401 else _PER_NUMBER_STATUSES
        return await self._http.request(
            "GET",
            f"{request.path}?{_query(tuple(request.params.items()))}",
            headers=request.headers,
            accept_statuses=accept,
        )

    async def aclose(self) -> None:
        await self._http.aclose()


@functools.cache
def _query(params: tuple[tuple[str, str], ...]) -> str:
    """The query string httpx would build from ``params``, built once: every call sends the
    same, and httpx parsing and merging a dict of them per call cost more than the call's
    own URL did."""
    return str(httpx.QueryParams(params))


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""
