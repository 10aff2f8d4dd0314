"""DHL, through DHL's Shipment Tracking - Unified API (one API for Express, Parcel, eCommerce).

Why it looks like this (facts and sources: ``docs/carriers.md`` §1):

- ``GET {base_url}/track/shipments?trackingNumber=...`` with the header ``DHL-API-Key``; an API
  key, no OAuth. The API takes **one number per call**, so a batch is fetched as one call per
  number, run concurrently under the shared client's pace (1 call/s) and daily quota (250 a
  day, reset at 00:00 GMT, the same UTC midnight ``CarrierHttpClient`` counts from).
- Hints: ``service=express`` for DHL Express numbers (without a service DHL may answer with
  another division's shipment of the same id) and ``originCountryCode`` from the query's
  origin country. DHL has no destination-country parameter, so ``destination_country`` is
  not sent; it goes to ``parse_tracking``, to place offset-less times (``adapters/zones.py``).
  ``language=en`` always: the status phrases in ``adapters.dhl_parse`` are English.
- Per number, as data: a 404 problem body is ``not_found``; another 4xx problem body is a
  per-number ``error``. Whole-call failures raise (any one number's failure fails the batch,
  and its sibling calls are cancelled, since the next would fail the same way)::

      CarrierError
      ├── CarrierAuthError          401/403 (bad or missing key); no key configured
      ├── CarrierRateLimited        429 after retries, or the daily quota used up
      ├── CarrierUnavailable        timeouts, connection errors, 5xx after retries, breaker
      └── CarrierMalformedResponse  a body that is not JSON, or not DHL's shape

- Parsing (status table, phrase table for events without a ``statusCode``, how times with no
  UTC offset are placed) lives in ``adapters.dhl_parse``; ``STATUS_TABLE``, ``status_for``
  and ``parse_tracking`` are re-exported, as every carrier module does.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters._http import CarrierHttpClient, HttpPolicy, load_json
from adapters.base import (
    Capabilities,
    CarrierAuthError,
    CarrierError,
    CarrierHealth,
    Network,
    TrackingQuery,
    TrackingResult,
)
from adapters.checkdigits import is_valid_dhl_express, normalise_number
from adapters.dhl_parse import STATUS_TABLE, parse_tracking, status_for

TRACK_PATH = "/track/shipments"
API_KEY_HEADER = "DHL-API-Key"
# DHL Express piece ids (``JJD0099999999``): no check digit, so they are a hint, not a match.
_EXPRESS_PIECE = re.compile(r"J[A-Z]{2,3}[0-9]{9,10}")
_ALPHA2 = re.compile(r"[A-Za-z]{2}")


class DhlSettings(BaseSettings):
    """``RT_DHL_*``: the API key and DHL's published limits for a new app."""

    model_config = SettingsConfigDict(env_prefix="RT_DHL_", extra="ignore")

    api_key: SecretStr | None = Field(
        default=None,
        description="Consumer Key of a DHL developer app subscribed to Shipment Tracking - "
        "Unified (sent as the DHL-API-Key header; the Consumer Secret is not used).",
    )
    base_url: str = Field(
        default="https://api-eu.dhl.com",
        description="DHL API host; the adapter calls {base_url}/track/shipments. DHL offers "
        "no external test environment for tracking.",
    )
    requests_per_second: float = Field(
        default=1.0,
        ge=0,
        description="Calls per second; DHL's initial service level allows at most 1 call/s.",
    )
    max_concurrency: int = Field(
        default=2,
        ge=1,
        description="Calls in flight at once (ours: two, so one slow answer does not stall "
        "the 1 call/s pace).",
    )
    daily_quota: int | None = Field(
        default=250,
        ge=1,
        description="Calls per day; DHL's initial level is 250/day, reset at 00:00 GMT. "
        "Raise it after DHL upgrades the app.",
    )
    batch_size: int = Field(
        default=10,
        ge=1,
        description="Numbers per fetch(); DHL takes one number per call, so a batch of 10 "
        "takes about 10 s at 1 call/s.",
    )


def build_request(query: TrackingQuery) -> dict[str, str]:
    """Query parameters of the one GET for ``query``: number plus the hints DHL accepts."""
    number = normalise_number(query.number)
    params = {"trackingNumber": number, "language": "en"}
    service = service_hint(number)
    if service is not None:
        params["service"] = service
    origin = (query.origin_country or "").strip()
    if _ALPHA2.fullmatch(origin):
        params["originCountryCode"] = origin.upper()
    return params


def build_headers(api_key: str) -> dict[str, str]:
    """DHL authenticates by the consumer key in a header (a query parameter also works, but
    would put the key in access logs)."""
    return {API_KEY_HEADER: api_key}


def service_hint(number: str) -> str | None:
    """``express`` for DHL Express air waybills and piece ids; other divisions unhinted."""
    value = normalise_number(number)
    if is_valid_dhl_express(value) or _EXPRESS_PIECE.fullmatch(value):
        return "express"
    return None


class DhlAdapter:
    """DHL through the Unified tracking API; see the module docstring."""

    code = "dhl"
    name = "DHL"
    page_template: str | None = None  # Express numbers have a page of their own
    network: Network = "express"

    def __init__(
        self,
        settings: DhlSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: HttpPolicy | None = None,
    ) -> None:
        self.settings = settings if settings is not None else DhlSettings()
        self.capabilities = Capabilities(
            batch_size=self.settings.batch_size,
            requests_per_second=self.settings.requests_per_second,
            max_concurrency=self.settings.max_concurrency,
            daily_quota=self.settings.daily_quota,
        )
        self._http = CarrierHttpClient(
            self.code, self.settings.base_url, self.capabilities, policy, transport=transport
        )

    @property
    def configured(self) -> bool:
        key = self.settings.api_key
        return key is not None and bool(key.get_secret_value().strip())

    def health(self) -> CarrierHealth:
        return self._http.health()

    def tracking_url(self, number: str) -> str:
        """DHL's public page: the Express page for Express numbers, else the all-division one."""
        value = quote(normalise_number(number), safe="")
        if service_hint(value) == "express":
            return (
                "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
                f"?submit=1&tracking-id={value}"
            )
        return f"https://www.dhl.com/global-en/home/tracking.html?tracking-id={value}&submit=1"

    def matches(self, number: str) -> bool:
        """DHL Express air waybill: 10 digits, the last = first nine mod 7. Other DHL formats
        (piece ids, eCommerce ``GM``...) have no published check digit, and 10 digits collide
        with no FedEx (12/15/22), UPS (1Z) or UPU S10 number."""
        return is_valid_dhl_express(number)

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """One GET per number, concurrently; one result per query, in order.

        A number whose own call fails (5xx, timeout) gets an ``unanswered`` result: one bad
        number never sinks the other nine (docs/carriers.md §1).
        """
        key = self.settings.api_key
        if key is None or not key.get_secret_value().strip():
            raise CarrierAuthError(self.code, "no API key configured: set RT_DHL_API_KEY")
        if not queries:
            return []
        headers = build_headers(key.get_secret_value())
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._fetch_alone(q, headers)) for q in queries]
        except BaseExceptionGroup as failures:
            raise _whole_call_error(failures) from None
        return [task.result() for task in tasks]

    async def _fetch_alone(self, query: TrackingQuery, headers: dict[str, str]) -> TrackingResult:
        """One number's call: its failure is that number's result, unless it is carrier-wide
        (our key refused, the quota used), which fails the whole fetch."""
        try:
            return await self._fetch_one(query, headers)
        except CarrierError as error:
            if error.carrier_wide:
                raise
            return TrackingResult.unanswered(query.number, error)

    async def _fetch_one(self, query: TrackingQuery, headers: dict[str, str]) -> TrackingResult:
        response = await self._http.request(
            "GET",
            TRACK_PATH,
            params=build_request(query),
            headers=headers,
            accept_statuses={400, 404},
        )
        body = load_json(self.code, response)
        return parse_tracking(body, [query.number], destination_country=query.destination_country)[
            0
        ]

    async def aclose(self) -> None:
        await self._http.aclose()


def _whole_call_error(failures: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first carrier error of a failed batch; anything else (a bug) surfaces whole."""
    matched, rest = failures.split(CarrierError)
    if matched is None or rest is not None:
        return failures
    first: BaseException = matched
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


__all__ = [
    "STATUS_TABLE",
    "DhlAdapter",
    "DhlSettings",
    "build_headers",
    "build_request",
    "parse_tracking",
    "service_hint",
    "status_for",
]
