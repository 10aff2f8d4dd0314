"""The shared 17TRACK v2.2 client behind every carrier we read through 17TRACK.

EMS and China Post offer no public self-service tracking API (``docs/carriers.md`` §4.1,
§5.1); TNT, SF Express and any other carrier 17TRACK knows (``17track:<key>``, §8) are read the
same way: header ``17token``, ``POST /track/v2.2/register`` once per number, then
``POST /track/v2.2/gettrackinfo``, at most 40 numbers a call, each number with the 17TRACK
carrier key its adapter names. 17TRACK's "already registered" answer counts as success, and a
number 17TRACK has forgotten is registered again and asked for once more.

**One key, one connection.** All these adapters spend one 17TRACK key, so a process holds one
``SeventeenTrackAccount`` for them (``adapters.registry.build_all``): one HTTP client, hence one
pace (``RT_17TRACK_REQUESTS_PER_SECOND`` for the whole key), one concurrency limit, one daily
call count, one circuit breaker, and one memory of registered (number, key) pairs. Each carrier
stays its own adapter (code, name, public page, key, number format) subclassing
``SeventeenTrackAdapter``. An adapter built on its own (tests) opens its own account.

Errors, as everywhere in ``adapters``::

    CarrierError                  17TRACK refused the call for another documented reason
    ├── CarrierAuthError          HTTP 401/403, key invalid, IP not whitelisted, account disabled
    ├── CarrierRateLimited        HTTP 429, daily limit or purchased quota used up
    ├── CarrierUnavailable        timeouts, 5xx, 17TRACK internal error, breaker open
    └── CarrierMalformedResponse  not JSON, or not the documented envelope

A number 17TRACK rejects individually (bad format, carrier unknown, quota at registration) is
a ``TrackingResult.failed``; a number it has no events for yet is ``not_found``. The request
body, the envelope check and the register answer are pure functions here; the tracking answer
and the status tables are in ``adapters/_17track_parse.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters._17track_parse import (
    NOT_REGISTERED,
    answer_lists,
    code_of,
    item_number,
    parse_tracking,
    rejection,
)
from adapters._http import CarrierHttpClient, HttpPolicy, load_json
from adapters.base import (
    Capabilities,
    CarrierAuthError,
    CarrierError,
    CarrierHealth,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    Network,
    TrackingQuery,
    TrackingResult,
)
from adapters.checkdigits import normalise_number

PRODUCTION_URL = "https://api.17track.net"
API_KEY_ENV = "RT_17TRACK_API_KEY"
REGISTER_PATH = "/track/v2.2/register"
GETTRACKINFO_PATH = "/track/v2.2/gettrackinfo"
MAX_NUMBERS_PER_CALL = 40  # documented per-call limit for register and gettrackinfo
_KEY_HEADER = "17token"

# Whole-call and registration error codes (v2 error-code table, transcribed by public clients;
# docs/carriers.md §5.5).
ALREADY_REGISTERED = -18019901  # "tracking number is already registered": success for us
INTERNAL_ERROR = -18010003  # "internal service error, please retry later"
AUTH_ERRORS = frozenset(
    {
        -18010001,  # calling IP not in the key's whitelist
        -18010002,  # access key invalid
        -18010004,  # account disabled
        -18010005,  # unauthorised access
    }
)
QUOTA_ERRORS = frozenset(
    {
        -18019907,  # daily tracking limit exceeded
        -18019908,  # purchased quota used up
    }
)


def build_request(
    numbers: Sequence[str], carrier_key_of: Callable[[str], int | None]
) -> list[dict[str, Any]]:
    """The JSON list ``register`` and ``gettrackinfo`` both take; no key lets 17TRACK detect."""
    body: list[dict[str, Any]] = []
    for number in numbers:
        item: dict[str, Any] = {"number": number}
        key = carrier_key_of(number)
        if key is not None:
            item["carrier"] = key
        body.append(item)
    return body


def check_envelope(body: Any, carrier: str) -> None:
    """Raise the CarrierError a whole-call 17TRACK error code stands for; else return."""
    if not isinstance(body, dict):
        raise CarrierMalformedResponse(carrier, "17TRACK body is not an object", str(body))
    code, message = code_of(body.get("code")), ""
    data = body.get("data")
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = code or code_of(errors[0].get("code"))
        message = str(errors[0].get("message") or "")
    if not code:
        return
    text = f"17TRACK error {code}: {message or 'no message'}"
    if code in AUTH_ERRORS:
        raise CarrierAuthError(carrier, text)
    if code in QUOTA_ERRORS:
        raise CarrierRateLimited(carrier, text)
    if code == INTERNAL_ERROR:
        raise CarrierUnavailable(carrier, text)
    raise CarrierError(carrier, text)


@dataclass(slots=True)
class RegisterOutcome:
    """Which numbers 17TRACK now tracks for us, and why the others were refused."""

    registered: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    quota_exhausted: bool = False


def parse_register(body: Any, carrier: str) -> RegisterOutcome:
    """Read a ``register`` answer; "already registered" counts as registered."""
    accepted, rejected = answer_lists(body, carrier)
    outcome = RegisterOutcome()
    for item in accepted:
        number = item_number(item)
        if number:
            outcome.registered.add(number)
    for item in rejected:
        number, code, message = rejection(item)
        if not number:
            continue
        if code == ALREADY_REGISTERED:
            outcome.registered.add(number)
        else:
            outcome.quota_exhausted |= code in QUOTA_ERRORS
            outcome.failed[number] = f"17TRACK refused to register: {code} {message}".strip()
    return outcome


def unregistered_numbers(body: Any) -> set[str]:
    """Numbers ``gettrackinfo`` rejected because 17TRACK forgot (or never had) them."""
    try:
        _, rejected = answer_lists(body, "17track")
    except CarrierMalformedResponse:
        return set()
    found = (rejection(item) for item in rejected)
    return {number for number, code, _ in found if number and code == NOT_REGISTERED}


class SeventeenTrackSettings(BaseSettings):
    """One 17TRACK key serves every 17TRACK-backed carrier, so all read these ``RT_17TRACK_*``."""

    model_config = SettingsConfigDict(env_prefix="RT_17TRACK_", extra="ignore")

    api_key: SecretStr | None = Field(
        default=None, description="17TRACK API key, sent as the 17token header."
    )
    base_url: str = Field(default=PRODUCTION_URL, description="17TRACK API root (production).")
    requests_per_second: float = Field(
        default=2.0,
        description=(
            "Calls per second for the whole key in this process (every 17TRACK carrier shares "
            "one connection). 17TRACK allows 3/s per key (third-party transcription of its v1 "
            "docs); 2 leaves room for another process's on-demand refreshes."
        ),
    )
    max_concurrency: int = Field(
        default=1, description="17TRACK calls in flight at once; 17TRACK documents no limit."
    )
    daily_quota: int | None = Field(
        default=None,
        description=(
            "Calls per day, if your plan limits calls; 17TRACK meters registered numbers "
            "(100 free a month), which no call counter can see."
        ),
    )


class SeventeenTrackAccount:
    """One 17TRACK key in this process: the connection and registrations its carriers share."""

    def __init__(
        self,
        settings: SeventeenTrackSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: HttpPolicy | None = None,
        name: str = "17track",
    ) -> None:
        self.settings = settings
        self.capabilities = Capabilities(
            batch_size=MAX_NUMBERS_PER_CALL,
            requests_per_second=settings.requests_per_second,
            max_concurrency=settings.max_concurrency,
            daily_quota=settings.daily_quota,
        )
        self.http = CarrierHttpClient(
            name, settings.base_url, self.capabilities, policy, transport=transport
        )
        # (number, carrier key sent) pairs 17TRACK tracks for us
        self.registered: set[tuple[str, int | None]] = set()
        self._closed = False

    @property
    def token(self) -> str | None:
        key = self.settings.api_key
        token = key.get_secret_value().strip() if key is not None else ""
        return token or None

    async def aclose(self) -> None:
        """Close the connection once, however many of its carriers are closed."""
        if not self._closed:
            self._closed = True
            await self.http.aclose()


class SeventeenTrackAdapter(ABC):
    """Everything the 17TRACK carriers share; subclasses add code, name, key, format and URL."""

    code: str
    network: Network = "postal"
    name: str

    def __init__(
        self,
        settings: SeventeenTrackSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: HttpPolicy | None = None,
        account: SeventeenTrackAccount | None = None,
    ) -> None:
        self.account = account or SeventeenTrackAccount(
            settings or SeventeenTrackSettings(), transport=transport, policy=policy, name=self.code
        )
        self.settings = self.account.settings
        self.capabilities = self.account.capabilities
        self._http = self.account.http

    @abstractmethod
    def carrier_key_of(self, number: str) -> int | None:
        """17TRACK's numeric carrier key for ``number``; None lets 17TRACK detect it."""

    def parse(self, body: Any, numbers: Sequence[str]) -> list[TrackingResult]:
        """``parse_tracking`` for this carrier (its code names unmapped statuses)."""
        return parse_tracking(body, numbers, carrier=self.code)

    @property
    def configured(self) -> bool:
        return self.account.token is not None

    def health(self) -> CarrierHealth:
        return self._http.health()

    async def aclose(self) -> None:
        await self.account.aclose()

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """One result per query, in order; 40 numbers per 17TRACK call."""
        token = self.account.token
        if token is None:
            raise CarrierAuthError(self.code, f"17TRACK API key not set: set {API_KEY_ENV}")
        numbers = list(dict.fromkeys(normalise_number(q.number) for q in queries))
        results: dict[str, TrackingResult] = {}
        for start in range(0, len(numbers), MAX_NUMBERS_PER_CALL):
            chunk = numbers[start : start + MAX_NUMBERS_PER_CALL]
            results.update(await self._track(chunk, token))
        out = []
        for query in queries:
            result = results[normalise_number(query.number)]
            out.append(replace(result, tracking_number=query.number))
        return out

    async def _track(self, numbers: list[str], token: str) -> dict[str, TrackingResult]:
        """Register what is new, ask for all, and retry once what 17TRACK had forgotten."""
        new = [n for n in numbers if self._key_pair(n) not in self.account.registered]
        registration = await self._register(new, token)
        if len(registration.failed) == len(numbers) and registration.quota_exhausted:
            raise CarrierRateLimited(self.code, "17TRACK quota used up: nothing could register")
        results = {n: TrackingResult.failed(n, why) for n, why in registration.failed.items()}
        asked = [n for n in numbers if n not in registration.failed]
        if not asked:
            return results
        body = await self._post(GETTRACKINFO_PATH, asked, token)
        results.update(zip(asked, self.parse(body, asked), strict=True))
        unregistered = unregistered_numbers(body)
        forgotten = [n for n in asked if n in unregistered]
        if forgotten:
            self.account.registered.difference_update(self._key_pair(n) for n in forgotten)
            again = await self._register(forgotten, token)
            results.update({n: TrackingResult.failed(n, why) for n, why in again.failed.items()})
            retry = [n for n in forgotten if self._key_pair(n) in self.account.registered]
            if retry:
                body = await self._post(GETTRACKINFO_PATH, retry, token)
                results.update(zip(retry, self.parse(body, retry), strict=True))
        return results

    async def _register(self, numbers: list[str], token: str) -> RegisterOutcome:
        if not numbers:
            return RegisterOutcome()
        outcome = parse_register(await self._post(REGISTER_PATH, numbers, token), self.code)
        self.account.registered.update(self._key_pair(n) for n in outcome.registered)
        return outcome

    def _key_pair(self, number: str) -> tuple[str, int | None]:
        return number, self.carrier_key_of(number)

    async def _post(self, path: str, numbers: list[str], token: str) -> Any:
        response = await self._http.request(
            "POST",
            path,
            json=build_request(numbers, self.carrier_key_of),
            headers={_KEY_HEADER: token},
        )
        body = load_json(self.code, response)
        try:
            check_envelope(body, self.code)
        except CarrierError as exc:
            # an error inside HTTP 200; 17TRACK's own outage counts towards the breaker
            self._http.record_failure(exc.message, outage=isinstance(exc, CarrierUnavailable))
            raise
        return body
