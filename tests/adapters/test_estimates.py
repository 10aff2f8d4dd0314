"""The carriers' own delivery estimates, read from answers shaped like their real ones.

Each carrier puts its estimate somewhere else (docs/carriers.md §10); every reader turns it into
the same ``DeliveryWindow`` of local calendar days, and an answer without one has none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import respx

from adapters._17track import GETTRACKINFO_PATH, REGISTER_PATH
from adapters._17track_parse import parse_tracking as parse_17track
from adapters.base import DeliveryWindow, TrackingQuery, TrackingResult
from adapters.dhl_parse import parse_tracking as parse_dhl
from adapters.estimates import (
    day_of,
    dhl_window,
    fedex_window,
    track17_window,
    ups_window,
    window_of,
)
from adapters.fedex_parse import parse_tracking as parse_fedex
from adapters.ups_parse import parse_tracking as parse_ups
from tests.adapters.test_17track import BASE_URL, adapter, load

Parse = Callable[[Any, list[str]], list[TrackingResult]]


def _china_post(body: Any, numbers: list[str]) -> list[TrackingResult]:
    return parse_17track(body, numbers, carrier="china_post")


PARSERS: dict[str, Parse] = {
    "fedex": parse_fedex,
    "ups": parse_ups,
    "dhl": parse_dhl,
    "17track": _china_post,
}


def window(earliest: str, latest: str, source: str) -> DeliveryWindow:
    return DeliveryWindow(date.fromisoformat(earliest), date.fromisoformat(latest), source)


@pytest.mark.parametrize(
    ("folder", "file", "number", "expected"),
    [
        pytest.param(
            "fedex",
            "track_estimated_window.json",
            "392048175502910",
            window("2026-03-13", "2026-03-13", "estimatedDeliveryTimeWindow"),
            id="fedex live window beats the standard transit date",
        ),
        pytest.param(
            "fedex",
            "track_estimated_day.json",
            "392048175502910",
            # 23:59:59-06:00 on the 16th is the 17th in UTC: the day as written counts
            window("2026-03-16", "2026-03-16", "dateAndTimes ESTIMATED_DELIVERY"),
            id="fedex estimated day as written, not in UTC",
        ),
        pytest.param(
            "fedex",
            "track_in_transit.json",
            "392048175502910",
            window("2026-03-12", "2026-03-12", "standardTransitTimeWindow"),
            id="fedex ground: only the standard transit date",
        ),
        pytest.param("fedex", "track_not_found.json", "618357902426", None, id="fedex not found"),
        pytest.param(
            "ups",
            "track_in_transit.json",
            "1ZV17R866604128930",
            window("2025-02-21", "2025-02-21", "deliveryDate SDD"),
            id="ups scheduled date",
        ),
        pytest.param(
            "ups",
            "track_rescheduled.json",
            "1ZV17R866604128930",
            window("2025-02-24", "2025-02-24", "deliveryDate RDD"),
            id="ups rescheduled date replaces the scheduled one",
        ),
        pytest.param(
            "dhl",
            "track_estimated_time_frame.json",
            "00340434161094027318",
            window("2024-05-08", "2024-05-10", "estimatedDeliveryTimeFrame"),
            id="dhl time frame over three days",
        ),
        pytest.param(
            "dhl", "track_in_transit.json", "00340434161094027318", None, id="dhl without estimate"
        ),
        pytest.param(
            "17track",
            "track_estimated_delivery.json",
            "UG458120937YP",
            window("2025-08-11", "2025-08-14", "estimated_delivery_date (Official)"),
            id="17track carrier's window",
        ),
        pytest.param(
            "17track",
            "track_in_transit.json",
            "UG458120937YP",
            None,
            id="17track all nulls is no estimate",
        ),
    ],
)
def test_each_carriers_estimate_is_read_from_its_answer(
    folder: str, file: str, number: str, expected: DeliveryWindow | None
) -> None:
    (result,) = PARSERS[folder](load(folder, file), [number])

    assert result.estimated_delivery == expected
    if expected is not None:
        assert result.outcome == "found"
        assert result.scans  # the estimate travels with the scans, never instead of them


def test_a_number_written_differently_keeps_its_estimate() -> None:
    body = load("17track", "track_estimated_delivery.json")

    (result,) = _china_post(body, ["ug 458 120 937 yp"])

    assert result.tracking_number == "ug 458 120 937 yp"
    assert result.estimated_delivery == window(
        "2025-08-11", "2025-08-14", "estimated_delivery_date (Official)"
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_17track_carrier_hands_the_estimate_back_from_fetch() -> None:
    china_post = adapter()
    body = load("17track", "track_estimated_delivery.json")
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(
            200,
            json={"code": 0, "data": {"accepted": [{"number": "UG458120937YP"}], "rejected": []}},
        )
        mock.post(GETTRACKINFO_PATH).respond(200, json=body)
        (result,) = await china_post.fetch([TrackingQuery("UG458120937YP")])
    await china_post.aclose()

    assert result.estimated_delivery is not None
    assert (result.estimated_delivery.earliest, result.estimated_delivery.latest) == (
        date(2025, 8, 11),
        date(2025, 8, 14),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-16T23:59:59-06:00", date(2026, 3, 16)),
        ("2023-05-15T18:00:00.000+02:00", date(2023, 5, 15)),
        ("2024-05-09T00:00:00", date(2024, 5, 9)),
        ("2024-05-09", date(2024, 5, 9)),
        ("20250221", date(2025, 2, 21)),
        (" 20250221 ", date(2025, 2, 21)),
        ("0001-01-01T00:00:00", None),  # a placeholder, not a date
        ("2025-02-30", None),
        ("tomorrow", None),
        ("", None),
        (None, None),
        (20250221, None),
    ],
)
def test_a_day_is_read_as_written(value: Any, expected: date | None) -> None:
    assert day_of(value) == expected


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2026-03-13", "2026-03-16", ("2026-03-13", "2026-03-16")),
        ("2026-03-16", "2026-03-13", ("2026-03-13", "2026-03-16")),  # back to front
        (None, "2026-03-16", ("2026-03-16", "2026-03-16")),  # half a window: one day
        ("2026-03-13", "", ("2026-03-13", "2026-03-13")),
        (None, None, None),
        ("soon", "later", None),
    ],
)
def test_a_window_always_runs_forwards(first: Any, last: Any, expected: Any) -> None:
    found = window_of(first, last, "test")
    if expected is None:
        assert found is None
    else:
        assert found == window(expected[0], expected[1], "test")


@pytest.mark.parametrize(
    ("read", "shape"),
    [
        (fedex_window, {"estimatedDeliveryTimeWindow": {"window": {}}, "dateAndTimes": []}),
        (fedex_window, {"estimatedDeliveryTimeWindow": "n/a", "dateAndTimes": [None, 3]}),
        (ups_window, {"deliveryDate": [{"type": "DEL", "date": "20250221"}]}),
        (ups_window, {"deliveryDate": {"type": "SDD"}}),
        (dhl_window, {"estimatedDeliveryTimeFrame": {}, "estimatedTimeOfDelivery": None}),
        (track17_window, {"time_metrics": None}),
        (track17_window, {"time_metrics": {"estimated_delivery_date": []}}),
    ],
)
def test_odd_or_empty_shapes_are_no_estimate(
    read: Callable[[dict[str, Any]], DeliveryWindow | None], shape: dict[str, Any]
) -> None:
    assert read(shape) is None


def test_a_dhl_time_of_delivery_alone_is_one_day() -> None:
    shipment = {"estimatedTimeOfDelivery": "2023-05-15T18:00:00.000+02:00"}

    assert dhl_window(shipment) == window("2023-05-15", "2023-05-15", "estimatedTimeOfDelivery")


def test_a_17track_estimate_of_its_own_says_so() -> None:
    info = {
        "time_metrics": {
            "estimated_delivery_date": {
                "source": "17TRACK",
                "from": "2026-07-08T00:00:00-07:00",
                "to": "2026-07-12T00:00:00-07:00",
            }
        }
    }

    assert track17_window(info) == window(
        "2026-07-08", "2026-07-12", "estimated_delivery_date (17TRACK)"
    )
