"""ClientCredentialsToken: one token request, reused, renewed early, refusals typed."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from adapters._http import NO_RETRY, CarrierHttpClient
from adapters._oauth import ClientCredentialsToken
from adapters.base import (
    Capabilities,
    CarrierAuthError,
    CarrierMalformedResponse,
    CarrierUnavailable,
)

BASE = "https://carrier.test"
TOKEN_PATH = "/oauth/token"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def http_client(clock: Clock) -> CarrierHttpClient:
    return CarrierHttpClient(
        "acme",
        BASE,
        Capabilities(batch_size=1, requests_per_second=0, max_concurrency=4),
        NO_RETRY,
        clock=clock,
    )


def token_for(
    clock: Clock,
    *,
    basic_auth: bool = False,
    renew_before: float = 60.0,
    http: CarrierHttpClient | None = None,
) -> ClientCredentialsToken:
    return ClientCredentialsToken(
        http or http_client(clock),
        TOKEN_PATH,
        "client-id",
        "s3cret:with/colon",
        basic_auth=basic_auth,
        clock=clock,
        renew_before=renew_before,
    )


def grant(access_token: str, expires_in: Any = 3599) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}
    )


def form_of(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


@pytest.mark.anyio
async def test_token_is_fetched_once_and_reused() -> None:
    clock = Clock()
    token = token_for(clock)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH).mock(return_value=grant("tok-1"))
        first = await token.get()
        clock.now += 1_000
        again = [await token.get() for _ in range(5)]
    assert first == "tok-1"
    assert again == ["tok-1"] * 5
    assert route.call_count == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [(3599, 3599.0), (3599.5, 3599.5), ("14399", 14399.0)],
    ids=["fedex-number", "fractional-number", "ups-string"],
)
async def test_token_is_renewed_renew_before_seconds_before_expiry(
    expires_in: Any, lifetime: float
) -> None:
    clock = Clock()
    token = token_for(clock, renew_before=60.0)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH)
        route.side_effect = [grant("tok-1", expires_in), grant("tok-2", expires_in)]
        start = clock.now
        assert await token.get() == "tok-1"
        clock.now = start + lifetime - 60.0 - 0.001
        assert await token.get() == "tok-1"
        clock.now = start + lifetime - 60.0
        assert await token.get() == "tok-2"
    assert route.call_count == 2


@pytest.mark.anyio
@pytest.mark.parametrize("expires_in", [None, "soon", "NaN", "inf", 0, -5])
async def test_unreadable_expires_in_counts_as_five_minutes(expires_in: Any) -> None:
    clock = Clock()
    token = token_for(clock, renew_before=60.0)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH)
        route.side_effect = [grant("tok-1", expires_in), grant("tok-2")]
        start = clock.now
        await token.get()
        clock.now = start + 239.9
        assert await token.get() == "tok-1"
        clock.now = start + 240.0
        assert await token.get() == "tok-2"
    assert route.call_count == 2


@pytest.mark.anyio
async def test_a_token_shorter_lived_than_renew_before_is_kept_for_half_its_life() -> None:
    clock = Clock()
    token = token_for(clock, renew_before=60.0)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH)
        route.side_effect = [grant("tok-1", 40), grant("tok-2", 40)]
        start = clock.now
        assert [await token.get() for _ in range(3)] == ["tok-1"] * 3
        clock.now = start + 20.0
        assert await token.get() == "tok-2"
    assert route.call_count == 2  # not one token request per call


@pytest.mark.anyio
async def test_concurrent_callers_share_one_token_request() -> None:
    clock = Clock()
    token = token_for(clock)
    asked, release = asyncio.Event(), asyncio.Event()

    async def slow_grant(request: httpx.Request) -> httpx.Response:
        asked.set()
        await release.wait()
        return grant("tok-1")

    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH).mock(side_effect=slow_grant)
        callers = [asyncio.create_task(token.get()) for _ in range(10)]
        await asked.wait()
        for _ in range(20):  # let every other caller reach the token while one is in flight
            await asyncio.sleep(0)
        release.set()
        tokens = await asyncio.gather(*callers)
    assert tokens == ["tok-1"] * 10
    assert route.call_count == 1


@pytest.mark.anyio
async def test_invalidate_makes_the_next_get_fetch_a_new_token() -> None:
    clock = Clock()
    token = token_for(clock)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH)
        route.side_effect = [grant("tok-1"), grant("tok-2")]
        assert await token.get() == "tok-1"
        token.invalidate()
        assert await token.get() == "tok-2"
    assert route.call_count == 2


@pytest.mark.anyio
async def test_basic_auth_sends_credentials_in_the_authorization_header_only() -> None:
    token = token_for(Clock(), basic_auth=True)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH).mock(return_value=grant("tok-1"))
        await token.get()
    request = route.calls.last.request
    expected = base64.b64encode(b"client-id:s3cret:with/colon").decode("ascii")
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(request) == {"grant_type": ["client_credentials"]}


@pytest.mark.anyio
async def test_form_credentials_send_id_and_secret_in_the_body_without_a_header() -> None:
    token = token_for(Clock(), basic_auth=False)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH).mock(return_value=grant("tok-1"))
        await token.get()
    request = route.calls.last.request
    assert "Authorization" not in request.headers
    assert form_of(request) == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-id"],
        "client_secret": ["s3cret:with/colon"],
    }


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 401, 403])
async def test_refused_token_request_is_an_auth_error_shown_in_health(status: int) -> None:
    clock = Clock()
    http = http_client(clock)
    token = token_for(clock, http=http)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(TOKEN_PATH).respond(status, json={"error": "invalid_client"})
        with pytest.raises(CarrierAuthError, match=f"token request refused \\(HTTP {status}\\)"):
            await token.get()
    assert route.call_count == 1
    health = http.health()
    assert health.last_error == f"token request refused (HTTP {status})"
    assert health.last_success_at is None
    assert health.breaker_state == "closed"


@pytest.mark.anyio
async def test_token_endpoint_outage_is_unavailable() -> None:
    token = token_for(Clock())
    with respx.mock(base_url=BASE) as mock:
        mock.post(TOKEN_PATH).respond(503)
        with pytest.raises(CarrierUnavailable, match="HTTP 503"):
            await token.get()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer", "expires_in": 3599},
        {"access_token": "", "expires_in": 3599},
        {"access_token": 12345, "expires_in": 3599},
        ["access_token", "tok-1"],
    ],
    ids=["missing", "empty", "not-a-string", "not-an-object"],
)
async def test_answer_without_an_access_token_is_malformed(body: Any) -> None:
    token = token_for(Clock())
    with respx.mock(base_url=BASE) as mock:
        mock.post(TOKEN_PATH).respond(200, json=body)
        with pytest.raises(CarrierMalformedResponse, match="no access_token") as caught:
            await token.get()
    assert caught.value.raw == str(body)


@pytest.mark.anyio
async def test_non_json_token_answer_is_malformed() -> None:
    token = token_for(Clock())
    with respx.mock(base_url=BASE) as mock:
        mock.post(TOKEN_PATH).respond(200, content=b"<html>login</html>")
        with pytest.raises(CarrierMalformedResponse, match="not JSON") as caught:
            await token.get()
    assert caught.value.raw == "<html>login</html>"
