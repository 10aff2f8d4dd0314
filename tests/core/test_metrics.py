"""Process metrics: carrier call outcomes, unmapped codes, time-zone guesses and breaker states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import anyio
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.base import (
    Capabilities,
    CarrierAuthError,
    CarrierError,
    CarrierHealth,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    TrackingQuery,
    TrackingResult,
    record_time_zone,
    record_unmapped,
)
from app.core import metrics

BreakerState = Literal["closed", "open", "half_open"]


class FakeAdapter:
    """A carrier that answers what it is told to, and reports the breaker state it is given."""

    name = "Fake Post"
    network: Literal["express", "postal"] = "postal"
    capabilities = Capabilities(batch_size=10, requests_per_second=1.0, max_concurrency=1)
    configured = True
    page_template: str | None = None

    def __init__(
        self, code: str, *, error: CarrierError | None = None, breaker: BreakerState = "closed"
    ) -> None:
        self.code = code
        self.error = error
        self.breaker = breaker

    def health(self) -> CarrierHealth:
        return CarrierHealth(breaker_state=self.breaker)

    def tracking_url(self, number: str) -> str:
        return f"https://fake.example/{number}"

    def matches(self, number: str) -> bool:
        return False

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        if self.error is not None:
            raise self.error
        found = TrackingResult.found(queries[0].number, [])
        return [found, *(TrackingResult.not_found(q.number) for q in queries[1:])]

    async def aclose(self) -> None:
        return None


def sample(name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (CarrierRateLimited("fake", "slow down", retry_after=3), "rate_limited"),
        (CarrierUnavailable("fake", "timed out"), "unavailable"),
        (CarrierAuthError("fake", "bad key"), "auth_error"),
        (CarrierMalformedResponse("fake", "not json"), "malformed"),
        (CarrierError("fake", "refused"), "error"),
    ],
)
def test_each_carrier_call_is_counted_with_its_outcome_and_timed(
    error: CarrierError | None, outcome: str
) -> None:
    adapter = FakeAdapter("fake_outcomes", error=error)
    queries = [TrackingQuery("A1"), TrackingQuery("A2")]
    calls = sample("rt_carrier_polls_total", carrier="fake_outcomes", outcome=outcome)
    timed = sample("rt_carrier_poll_duration_seconds_count", carrier="fake_outcomes")
    found = sample("rt_carrier_tracking_results_total", carrier="fake_outcomes", outcome="found")

    if error is None:
        results = anyio.run(metrics.timed_fetch, adapter, queries)
        assert [r.outcome for r in results] == ["found", "not_found"]
    else:
        with pytest.raises(type(error)):
            anyio.run(metrics.timed_fetch, adapter, queries)

    assert sample("rt_carrier_polls_total", carrier="fake_outcomes", outcome=outcome) == calls + 1
    assert sample("rt_carrier_poll_duration_seconds_count", carrier="fake_outcomes") == timed + 1
    expected_found = found + (1 if error is None else 0)
    assert (
        sample("rt_carrier_tracking_results_total", carrier="fake_outcomes", outcome="found")
        == expected_found
    )


def test_unmapped_codes_are_counted_per_carrier_without_the_raw_code() -> None:
    before = sample("rt_carrier_unmapped_codes_total", carrier="fake_unmapped")

    record_unmapped("fake_unmapped", "ZZ-1", "odd text")
    record_unmapped("fake_unmapped", "ZZ-2", None)

    assert sample("rt_carrier_unmapped_codes_total", carrier="fake_unmapped") == before + 2
    text = generate_latest(REGISTRY).decode()
    assert "ZZ-1" not in text


def test_time_zone_guesses_are_counted_per_carrier_and_how() -> None:
    before = {
        how: sample("rt_scan_time_zone_guess_total", carrier="fake_zones", how=how)
        for how in ("offset", "state", "utc")
    }

    record_time_zone("fake_zones", "offset")
    record_time_zone("fake_zones", "offset")
    record_time_zone("fake_zones", "state")
    record_time_zone("fake_zones", "utc")

    after = {
        how: sample("rt_scan_time_zone_guess_total", carrier="fake_zones", how=how)
        for how in ("offset", "state", "utc")
    }
    assert after == {
        "offset": before["offset"] + 2,
        "state": before["state"] + 1,
        "utc": before["utc"] + 1,
    }


def test_breaker_state_is_one_series_per_state_with_the_current_one_set() -> None:
    collector = metrics.BreakerStateCollector(
        [FakeAdapter("fake_a", breaker="open"), FakeAdapter("fake_b", breaker="half_open")]
    )

    [states, configured] = list(collector.collect())

    values = {(s.labels["carrier"], s.labels["state"]): s.value for s in states.samples}
    assert values == {
        ("fake_a", "closed"): 0,
        ("fake_a", "open"): 1,
        ("fake_a", "half_open"): 0,
        ("fake_b", "closed"): 0,
        ("fake_b", "open"): 0,
        ("fake_b", "half_open"): 1,
    }
    assert {s.labels["carrier"]: s.value for s in configured.samples} == {"fake_a": 1, "fake_b": 1}
