"""CarrierHttpClient: retries, Retry-After, body cap, breaker, pacing and quota on fake time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from adapters._breaker import CircuitBreaker
from adapters._http import (
    CarrierHttpClient,
    HttpPolicy,
    load_json,
    parse_retry_after,
)
from adapters.base import (
    Capabilities,
    CarrierAuthError,
    CarrierError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    isolating_a_number,
)

BASE = "https://carrier.test"
PATH = "/track"
START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # a Monday
RETRIES = HttpPolicy(max_attempts=3, backoff_base=0.5, backoff_max=8.0, retry_after_cap=60.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeTime:
    """A monotonic clock and a UTC wall clock that move only when the client sleeps."""

    def __init__(self, wall: datetime = START) -> None:
        self.monotonic = 1_000.0
        self.wall = wall
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def clock(self) -> float:
        return self.monotonic

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.monotonic += seconds
        self.wall += timedelta(seconds=seconds)


def client(
    fake: FakeTime,
    policy: HttpPolicy = RETRIES,
    *,
    rate: float = 0.0,
    quota: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CarrierHttpClient:
    capabilities = Capabilities(
        batch_size=1, requests_per_second=rate, max_concurrency=4, daily_quota=quota
    )
    return CarrierHttpClient(
        "acme",
        BASE,
        capabilities,
        policy,
        transport=transport,
        sleep=fake.sleep,
        clock=fake.clock,
        now=fake.now,
    )


# --- retries ---------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.Response(408),
        httpx.Response(429),
        httpx.Response(500),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
    ],
    ids=["connect-error", "read-timeout", "408", "429", "500", "502", "503", "504"],
)
async def test_transient_failure_is_retried_then_succeeds(
    failure: httpx.Response | Exception,
) -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [failure, httpx.Response(200, json={"ok": True})]
        response = await http.request("GET", PATH)
    assert response.status_code == 200
    assert load_json("acme", response) == {"ok": True}
    assert route.call_count == 2
    assert len(fake.sleeps) == 1
    assert http.health().last_success_at == fake.now()
    assert http.health().last_error is None
    await http.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
async def test_persistent_5xx_stops_at_max_attempts_and_is_unavailable(status: int) -> None:
    fake = FakeTime()
    http = client(fake, HttpPolicy(max_attempts=4, backoff_base=0.5))
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).respond(status)
        with pytest.raises(CarrierUnavailable, match=f"HTTP {status}") as caught:
            await http.request("GET", PATH)
    assert route.call_count == 4
    assert len(fake.sleeps) == 3
    assert caught.value.carrier == "acme"
    assert http.health().last_error == f"HTTP {status}"
    assert http.health().last_error_at == fake.now()
    await http.aclose()


@pytest.mark.anyio
async def test_exhausted_timeouts_keep_the_httpx_timeout_as_cause() -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(CarrierUnavailable, match="timed out: ReadTimeout") as caught:
            await http.request("GET", PATH)
    assert route.call_count == 3
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)  # the API answers 504 for it
    await http.aclose()


@pytest.mark.anyio
async def test_exhausted_connect_errors_are_unavailable_without_a_timeout_cause() -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(CarrierUnavailable, match="connection failed: refused") as caught:
            await http.request("GET", PATH)
    assert route.call_count == 3
    assert caught.value.__cause__ is None
    await http.aclose()


@pytest.mark.anyio
async def test_exhausted_429_is_rate_limited_with_the_carriers_wait() -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).respond(429, headers={"Retry-After": "12"})
        with pytest.raises(CarrierRateLimited, match="HTTP 429") as caught:
            await http.request("GET", PATH)
    assert route.call_count == 3
    assert fake.sleeps == [12.0, 12.0]
    assert caught.value.retry_after == 12.0
    assert http.breaker.failures == 0  # being asked to slow down is not an outage
    await http.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 404, 409, 422])
async def test_other_4xx_is_refused_at_once_without_retry(status: int) -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).respond(status, text="no such thing")
        with pytest.raises(CarrierError) as caught:
            await http.request("GET", PATH)
    assert type(caught.value) is CarrierError
    assert caught.value.message == f"request refused (HTTP {status}): no such thing"
    assert route.call_count == 1
    assert fake.sleeps == []
    assert http.health().last_error == f"HTTP {status}"
    await http.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_an_auth_error_without_retry(status: int) -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).respond(status)
        with pytest.raises(CarrierAuthError, match=f"credentials refused \\(HTTP {status}\\)"):
            await http.request("GET", PATH)
    assert route.call_count == 1
    assert http.health().last_error == f"HTTP {status}"
    await http.aclose()


# --- waits: backoff and Retry-After ------------------------------------------------------------


@pytest.mark.anyio
async def test_backoff_is_full_jitter_up_to_a_doubling_capped_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return high / 2

    monkeypatch.setattr(random, "uniform", uniform)
    fake = FakeTime()
    http = client(fake, HttpPolicy(max_attempts=5, backoff_base=0.5, backoff_max=3.0))
    with respx.mock(base_url=BASE) as mock:
        mock.get(PATH).respond(502)
        with pytest.raises(CarrierUnavailable):
            await http.request("GET", PATH)
    assert fake.sleeps == [0.25, 0.5, 1.0, 1.5]
    # tenacity also computes a wait after the last attempt (for stop_before_delay); unused
    assert asked[:4] == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 3.0)]
    await http.aclose()


@pytest.mark.anyio
async def test_real_jitter_stays_within_zero_and_the_ceiling() -> None:
    fake = FakeTime()
    http = client(fake, HttpPolicy(max_attempts=6, backoff_base=1.0, backoff_max=8.0))
    with respx.mock(base_url=BASE) as mock:
        mock.get(PATH).respond(500)
        for _ in range(20):
            with pytest.raises(CarrierUnavailable):
                await http.request("GET", PATH)
            http.breaker.succeeded()  # keep the breaker out of this test
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0] * 20
    assert len(fake.sleeps) == len(ceilings)
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(fake.sleeps, ceilings, strict=True))
    assert len(set(fake.sleeps)) > 1  # random, not a fixed wait
    await http.aclose()


@pytest.mark.anyio
async def test_retry_after_in_seconds_replaces_the_backoff() -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200)]
        await http.request("GET", PATH)
    assert fake.sleeps == [7.0]
    await http.aclose()


@pytest.mark.anyio
async def test_retry_after_as_an_http_date_waits_until_that_moment() -> None:
    fake = FakeTime()
    http = client(fake)
    when = format_datetime(START + timedelta(seconds=20), usegmt=True)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [
            httpx.Response(429, headers={"Retry-After": when}),
            httpx.Response(200),
        ]
        await http.request("GET", PATH)
    assert when == "Mon, 10 Mar 2025 12:00:20 GMT"
    assert fake.sleeps == [20.0]
    await http.aclose()


@pytest.mark.anyio
async def test_retry_after_on_a_5xx_other_than_503_is_capped() -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [
            httpx.Response(502, headers={"Retry-After": "600"}),
            httpx.Response(200),
        ]
        await http.request("GET", PATH)
    assert fake.sleeps == [60.0]
    await http.aclose()


@pytest.mark.anyio
async def test_retry_after_equal_to_the_cap_is_still_waited() -> None:
    fake = FakeTime()
    http = client(fake)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [
            httpx.Response(429, headers={"Retry-After": "60"}),
            httpx.Response(200),
        ]
        await http.request("GET", PATH)
    assert fake.sleeps == [60.0]
    await http.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_over_the_cap_raises_at_once_with_the_full_wait(status: int) -> None:
    fake = FakeTime(datetime(2025, 3, 10, 18, 0, tzinfo=UTC))
    http = client(fake, HttpPolicy(max_attempts=4, retry_after_cap=60.0))
    tomorrow = "Tue, 11 Mar 2025 00:00:00 GMT"  # a daily quota answering "come back tomorrow"
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).respond(status, headers={"Retry-After": tomorrow})
        with pytest.raises(CarrierRateLimited, match="over our 60 s cap") as caught:
            await http.request("GET", PATH)
    assert route.call_count == 1
    assert fake.sleeps == []
    assert caught.value.retry_after == 6 * 3600
    assert http.health().last_error == f"HTTP {status} asking to wait 21600 s (over our 60 s cap)"
    assert http.breaker.failures == 0
    await http.aclose()


# --- what counts as success ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_accepted_404_is_an_answer_that_counts_as_success() -> None:
    fake = FakeTime()
    http = client(fake, HttpPolicy(max_attempts=1, breaker_threshold=3))
    http.breaker.failures = 2
    with respx.mock(base_url=BASE) as mock:
        mock.get(PATH).respond(404, json={"detail": "no such number"})
        response = await http.request("GET", PATH, accept_statuses={404})
    assert response.status_code == 404
    assert http.breaker.failures == 0
    assert http.health().last_success_at == START
    await http.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 401, 403])
async def test_other_accepted_statuses_leave_breaker_and_health_alone(status: int) -> None:
    fake = FakeTime()
    http = client(fake, HttpPolicy(max_attempts=1, breaker_threshold=3))
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [httpx.Response(500), httpx.Response(500), httpx.Response(status)]
        for _ in range(2):
            with pytest.raises(CarrierUnavailable):
                await http.request("GET", PATH)
        response = await http.request("GET", PATH, accept_statuses={status})
    assert response.status_code == status
    assert http.breaker.failures == 2  # not reset: one more failure still opens it
    health = http.health()
    assert health.last_success_at is None
    assert health.last_error == "HTTP 500"
    await http.aclose()


@pytest.mark.anyio
async def test_record_failure_shows_in_health_and_leaves_the_breaker() -> None:
    fake = FakeTime()
    http = client(fake)
    fake.advance(5)
    http.record_failure("17TRACK error -18010002: Access token is invalid.")
    health = http.health()
    assert health.last_error == "17TRACK error -18010002: Access token is invalid."
    assert health.last_error_at == START + timedelta(seconds=5)
    assert health.breaker_state == "closed"
    assert http.breaker.failures == 0
    await http.aclose()


# --- untrusted bodies --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_body_declared_over_the_cap_is_malformed_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "10000000"}, content=b"{}")

    fake = FakeTime()
    http = client(fake, HttpPolicy(max_body_bytes=1_000), transport=httpx.MockTransport(handler))
    with pytest.raises(CarrierMalformedResponse, match="body of 10000000 bytes over 1000"):
        await http.request("GET", PATH)
    assert http.health().last_error == "body of 10000000 bytes over 1000"
    await http.aclose()


@pytest.mark.anyio
async def test_streamed_body_over_the_cap_is_malformed_and_not_read_to_the_end() -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            sent.append(400)
            yield b"x" * 400

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # chunked: no Content-Length

    fake = FakeTime()
    http = client(fake, HttpPolicy(max_body_bytes=1_000), transport=httpx.MockTransport(handler))
    with pytest.raises(CarrierMalformedResponse, match="body over 1000 bytes"):
        await http.request("GET", PATH)
    assert sum(sent) == 1_200  # stopped at the third chunk
    await http.aclose()


@pytest.mark.anyio
async def test_body_at_the_cap_is_read_whole() -> None:
    fake = FakeTime()
    http = client(fake, HttpPolicy(max_body_bytes=1_000))
    with respx.mock(base_url=BASE) as mock:
        mock.get(PATH).respond(200, content=b"x" * 1_000)
        response = await http.request("GET", PATH)
    assert response.content == b"x" * 1_000
    await http.aclose()


def test_load_json_on_a_non_json_body_is_malformed_and_keeps_the_raw_body() -> None:
    response = httpx.Response(502, content=b"<html>Bad gateway</html>")
    with pytest.raises(CarrierMalformedResponse, match="body is not JSON") as caught:
        load_json("acme", response)
    assert caught.value.carrier == "acme"
    assert caught.value.raw == "<html>Bad gateway</html>"


def test_load_json_on_undecodable_bytes_is_malformed_with_a_capped_raw() -> None:
    response = httpx.Response(200, content=b"\xff\xfe" + b"a" * 10_000)
    with pytest.raises(CarrierMalformedResponse) as caught:
        load_json("acme", response)
    assert len(caught.value.raw) == 4096
    assert caught.value.raw.startswith("\ufffd\ufffd")


# --- circuit breaker -------------------------------------------------------------------------

BREAKER = HttpPolicy(max_attempts=1, breaker_threshold=3, breaker_reset=30.0)


async def open_breaker(http: CarrierHttpClient, mock: respx.MockRouter) -> respx.Route:
    route = mock.get(PATH).respond(500)
    for _ in range(BREAKER.breaker_threshold):
        with pytest.raises(CarrierUnavailable, match="HTTP 500"):
            await http.request("GET", PATH)
    return route


@pytest.mark.anyio
async def test_breaker_opens_after_threshold_failures_and_refuses_without_calling() -> None:
    fake = FakeTime()
    http = client(fake, BREAKER)
    with respx.mock(base_url=BASE) as mock:
        route = await open_breaker(http, mock)
        assert http.health().breaker_state == "open"
        fake.advance(29.9)
        with pytest.raises(CarrierUnavailable, match="circuit breaker open"):
            await http.request("GET", PATH)
    assert route.call_count == 3
    await http.aclose()


@pytest.mark.anyio
async def test_breaker_stays_closed_below_the_threshold_and_a_success_resets_the_count() -> None:
    fake = FakeTime()
    http = client(fake, BREAKER)
    steps = ("fail", "fail", "ok", "fail", "fail")
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [httpx.Response(500 if step == "fail" else 200) for step in steps]
        for step in steps:
            if step == "ok":
                await http.request("GET", PATH)
            else:
                with pytest.raises(CarrierUnavailable):
                    await http.request("GET", PATH)
    assert http.health().breaker_state == "closed"
    assert http.breaker.failures == 2
    await http.aclose()


@pytest.mark.anyio
async def test_breaker_half_opens_after_reset_and_a_successful_trial_closes_it() -> None:
    fake = FakeTime()
    http = client(fake, BREAKER)
    with respx.mock(base_url=BASE) as mock:
        await open_breaker(http, mock)
        fake.advance(30.0)
        assert http.health().breaker_state == "half_open"
        mock.get(PATH).respond(200, json={})
        await http.request("GET", PATH)
    assert http.health().breaker_state == "closed"
    assert http.breaker.failures == 0
    assert http.health().last_success_at == fake.now()
    await http.aclose()


@pytest.mark.anyio
async def test_breaker_reopens_when_the_trial_fails() -> None:
    fake = FakeTime()
    http = client(fake, BREAKER)
    with respx.mock(base_url=BASE) as mock:
        route = await open_breaker(http, mock)
        fake.advance(30.0)
        with pytest.raises(CarrierUnavailable, match="HTTP 500"):
            await http.request("GET", PATH)  # the trial
        assert http.health().breaker_state == "open"
        with pytest.raises(CarrierUnavailable, match="circuit breaker open"):
            await http.request("GET", PATH)
    assert route.call_count == 4
    await http.aclose()


# --- pacing and daily quota --------------------------------------------------------------------


@pytest.mark.anyio
async def test_pacing_spaces_requests_by_one_over_the_rate() -> None:
    fake = FakeTime()
    http = client(fake, rate=4.0)
    sent_at: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent_at.append(fake.clock())
        return httpx.Response(200)

    with respx.mock(base_url=BASE) as mock:
        mock.get(PATH).mock(side_effect=record)
        await http.request("GET", PATH)
        await http.request("GET", PATH)
        await asyncio.gather(*(http.request("GET", PATH) for _ in range(3)))
    assert [round(t - sent_at[0], 6) for t in sent_at] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert fake.sleeps == [0.25] * 4
    await http.aclose()


@pytest.mark.anyio
async def test_pacing_does_not_wait_after_a_quiet_spell() -> None:
    fake = FakeTime()
    http = client(fake, rate=1.0)
    with respx.mock(base_url=BASE) as mock:
        mock.get(PATH).respond(200)
        await http.request("GET", PATH)
        fake.advance(5.0)
        await http.request("GET", PATH)
    assert fake.sleeps == []
    await http.aclose()


@pytest.mark.anyio
async def test_daily_quota_refuses_the_call_past_it_until_utc_midnight() -> None:
    fake = FakeTime(datetime(2025, 3, 10, 18, 30, tzinfo=UTC))
    http = client(fake, quota=2)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH).respond(200)
        await http.request("GET", PATH)
        await http.request("GET", PATH)
        with pytest.raises(CarrierRateLimited, match="daily quota of 2 calls used") as caught:
            await http.request("GET", PATH)
        assert route.call_count == 2
        assert caught.value.retry_after == 5.5 * 3600
        fake.advance(5.5 * 3600)  # 00:00 UTC: a new day, a new quota
        await http.request("GET", PATH)
    assert route.call_count == 3
    await http.aclose()


@pytest.mark.anyio
async def test_every_attempt_takes_a_unit_of_quota_because_the_carrier_counts_retries() -> None:
    fake = FakeTime()
    http = client(fake, quota=2)
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(PATH)
        route.side_effect = [httpx.Response(500), httpx.Response(200)]
        await http.request("GET", PATH)
        with pytest.raises(CarrierRateLimited):
            await http.request("GET", PATH)
    assert route.call_count == 2
    await http.aclose()


# --- parse_retry_after -------------------------------------------------------------------------


@given(st.one_of(st.none(), st.text()), st.floats(min_value=0, max_value=1e6))
def test_parse_retry_after_is_never_negative_nor_above_the_cap(
    value: str | None, cap: float
) -> None:
    seconds = parse_retry_after(value, now=START, cap=cap)
    assert seconds is None or 0 <= seconds <= cap


@given(st.integers(min_value=0, max_value=10**9), st.floats(min_value=0, max_value=1e6))
def test_parse_retry_after_reads_delta_seconds(delta: int, cap: float) -> None:
    assert parse_retry_after(f" {delta} ", now=START, cap=cap) == min(float(delta), cap)


@given(st.integers(min_value=-(10**7), max_value=10**7))
def test_parse_retry_after_reads_http_dates_relative_to_now(offset: int) -> None:
    header = format_datetime(START + timedelta(seconds=offset), usegmt=True)
    assert parse_retry_after(header, now=START, cap=1e9) == max(float(offset), 0.0)


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "soon", "-5", "+5", "1e3", "inf", "NaN", "0x10", "5 s", "Tomorrow, 25:00", "٣"],
)
def test_parse_retry_after_is_none_for_garbage(garbage: str) -> None:
    assert parse_retry_after(garbage, now=START) is None


def test_parse_retry_after_caps_and_reports_dates_past_as_zero() -> None:
    assert parse_retry_after("3600", now=START, cap=60.0) == 60.0
    assert parse_retry_after("Mon, 10 Mar 2025 11:00:00 GMT", now=START) == 0.0
    assert parse_retry_after("2.5", now=START) == 2.5


def test_a_half_open_breaker_lets_one_trial_through_until_it_is_judged() -> None:
    moment = [0.0]
    breaker = CircuitBreaker(threshold=1, reset=30, clock=lambda: moment[0])
    breaker.failed()
    moment[0] = 31.0
    seen: list[object] = [breaker.state, breaker.allow(), breaker.allow()]
    breaker.failed()  # the trial failed: open again
    seen.append(breaker.state)
    moment[0] = 62.0
    seen.append(breaker.allow())
    breaker.succeeded()
    seen += [breaker.state, breaker.allow(), breaker.allow()]

    # a second concurrent caller is refused while the trial runs
    assert seen == ["half_open", True, False, "open", True, "closed", True, True]


def test_failures_while_isolating_a_bad_number_never_open_the_breaker() -> None:
    """Bisecting a failed batch fails the half with the bad number every time: that is the
    number's problem. Outside the bisection, the same failures open the breaker as always."""
    moment = [0.0]
    breaker = CircuitBreaker(threshold=3, reset=30, clock=lambda: moment[0])

    with isolating_a_number():
        for _ in range(10):
            breaker.failed()
    isolating = breaker.state
    for _ in range(3):
        breaker.failed()

    assert (isolating, breaker.state) == ("closed", "open")


def test_a_failed_trial_reopens_the_breaker_even_while_isolating_a_number() -> None:
    moment = [0.0]
    breaker = CircuitBreaker(threshold=1, reset=30, clock=lambda: moment[0])
    breaker.failed()
    moment[0] = 31.0
    assert breaker.allow()

    with isolating_a_number():
        breaker.failed()

    assert breaker.state == "open"
