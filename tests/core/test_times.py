"""The API's one time type: ISO 8601 with an offset, years 1970 to 2100, answered in UTC.

A time whose conversion to UTC leaves Python's datetime range (``9999-12-31T23:59:59-14:00``)
was an OverflowError, a 500, on every route taking a time; a query filter of ``0.5`` was read
as Unix time. Both are a 422 naming the field now, on every route.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.core.schemas import IsoDate, UtcDatetime
from tests.factories import ApiClient, open_incident, parcel_payload, register_parcel

OVERFLOWING = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
TIMES = TypeAdapter(UtcDatetime)
DATES = TypeAdapter(IsoDate)


def refused_field(response: httpx.Response) -> tuple[str, str]:
    """(field, where) of the one problem in a 422 problem+json."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]["field"], errors[0]["in"]


def scan(occurred_at: str) -> dict[str, Any]:
    return {"status": "in_transit", "occurred_at": occurred_at, "description": "Departed hub"}


# --- the type itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-12T09:30:00Z", datetime(2026, 3, 12, 9, 30, tzinfo=UTC)),
        ("2026-03-12T10:30:00+01:00", datetime(2026, 3, 12, 9, 30, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2100-12-31T23:59:59.5Z", datetime(2100, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)),
    ],
)
def test_a_time_in_range_is_kept_and_turned_to_utc(text: str, utc: datetime) -> None:
    kept = TIMES.validate_python(text)

    assert kept == utc
    assert kept.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("9999-12-31T23:59:59-14:00", "years 1970 to 2100"),
        ("0001-01-01T00:00:00+14:00", "years 1970 to 2100"),
        ("1970-01-01T00:30:00+01:00", "years 1970 to 2100"),  # 1969 in UTC
        ("2100-12-31T23:00:00-02:00", "years 1970 to 2100"),  # 2101 in UTC
        ("2101-01-01T09:00:00+10:00", "years 1970 to 2100"),  # 2100 in UTC, 2101 as written
        ("1969-12-31T23:00:00Z", "years 1970 to 2100"),
        ("0.5", "ISO 8601"),
        ("1700000000", "ISO 8601"),
        (1700000000, "ISO 8601"),
        (0.5, "ISO 8601"),
        (True, "ISO 8601"),
        ("12 March 2026", "ISO 8601"),
        ("2026-03-12T09:30:00", "timezone"),
    ],
)
def test_a_time_out_of_range_or_not_iso_8601_is_refused(value: object, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        TIMES.validate_python(value)


def test_a_json_number_is_not_read_as_unix_time() -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        TIMES.validate_json("1700000000")


def test_a_datetime_from_inside_the_process_is_accepted() -> None:
    local = datetime(2026, 3, 12, 10, 30, tzinfo=timezone(timedelta(hours=1)))

    assert TIMES.validate_python(local) == datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


def test_a_date_is_yyyy_mm_dd_within_the_same_years() -> None:
    assert DATES.validate_python("2026-03-01") == date(2026, 3, 1)
    assert DATES.validate_python(date(1970, 1, 1)) == date(1970, 1, 1)
    for refused in ("9999-12-31", "1969-12-31", "2026-03-01T00:00:00Z", 1700000000, "0"):
        with pytest.raises(ValidationError):
            DATES.validate_python(refused)


# --- every route taking a time ---------------------------------------------------------------


@pytest.mark.parametrize("text", OVERFLOWING)
def test_registering_a_parcel_shipped_at_an_overflowing_time_is_a_422(
    api: ApiClient, text: str
) -> None:
    response = api.post("/v1/parcels", json=parcel_payload(shipped_at=text))

    assert refused_field(response) == ("shipped_at", "body")
    assert "1970 to 2100" in response.json()["detail"]


def test_a_parcel_shipped_in_year_9999_is_refused(api: ApiClient) -> None:
    response = api.post("/v1/parcels", json=parcel_payload(shipped_at="9999-12-31T00:00:00Z"))

    assert refused_field(response) == ("shipped_at", "body")


def test_an_order_date_in_year_9999_is_refused(api: ApiClient) -> None:
    response = api.post("/v1/parcels", json=parcel_payload(order_date="9999-12-31"))

    assert refused_field(response) == ("order_date", "body")


@pytest.mark.parametrize("text", OVERFLOWING)
def test_pushing_a_scan_at_an_overflowing_time_is_a_422(api: ApiClient, text: str) -> None:
    parcel = register_parcel(api)

    response = api.post(f"/v1/parcels/{parcel['id']}/scans", json={"scans": [scan(text)]})

    assert refused_field(response) == ("scans.0.occurred_at", "body")


@pytest.mark.parametrize("text", OVERFLOWING)
def test_opening_an_incident_reported_at_an_overflowing_time_is_a_422(
    api: ApiClient, text: str
) -> None:
    parcel = register_parcel(api)

    response = open_incident(api, parcel["id"], customer_reported_at=text)

    assert refused_field(response) == ("customer_reported_at", "body")


@pytest.mark.parametrize("text", OVERFLOWING)
def test_a_next_step_due_at_an_overflowing_time_is_a_422(api: ApiClient, text: str) -> None:
    parcel = register_parcel(api)

    response = open_incident(api, parcel["id"], next_step={"action": "Call UPS", "due_at": text})

    assert refused_field(response) == ("next_step.due_at", "body")


@pytest.mark.parametrize("text", OVERFLOWING)
def test_an_action_at_an_overflowing_time_is_a_422(api: ApiClient, text: str) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()

    response = api.post(
        f"/v1/incidents/{incident['id']}/actions",
        json={"kind": "note", "text": "Customer phoned", "occurred_at": text},
    )

    assert refused_field(response) == ("occurred_at", "body")


@pytest.mark.parametrize("text", OVERFLOWING)
def test_a_webhook_replay_since_an_overflowing_time_is_a_422(api: ApiClient, text: str) -> None:
    """The body is checked before the endpoint is looked up, so no endpoint is needed."""
    replay = f"/v1/webhook-endpoints/{uuid.uuid4()}/replay"

    refused = api.post(replay, json={"since": text})
    fine = api.post(replay, json={"since": "2026-03-12T09:30:00Z"})

    assert refused_field(refused) == ("since", "body")
    assert fine.status_code == 404


@pytest.mark.parametrize("text", OVERFLOWING)
def test_listing_incidents_opened_after_an_overflowing_time_is_a_422(
    api: ApiClient, text: str
) -> None:
    response = api.get("/v1/incidents", params={"opened_after": text})

    assert refused_field(response) == ("opened_after", "query")


@pytest.mark.parametrize(
    ("url", "params", "name"),
    [
        ("/v1/incidents", {}, "opened_before"),
        ("/v1/incidents/export", {}, "opened_before"),
        ("/v1/metrics/summary", {"to": "2026-03-12T00:00:00Z"}, "from"),
    ],
)
def test_a_date_filter_of_a_bare_number_is_a_422_not_unix_time(
    api: ApiClient, url: str, params: dict[str, str], name: str
) -> None:
    response = api.get(url, params={**params, name: "0.5"})

    assert refused_field(response) == (name, "query")
    assert "ISO 8601" in response.json()["detail"]


def test_a_date_filter_with_an_offset_still_filters(api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()  # opened 2026-03-12T09:30Z

    before = api.get("/v1/incidents", params={"opened_before": "2026-03-12T10:30:01+01:00"})
    after = api.get("/v1/incidents", params={"opened_after": "2026-03-12T10:30:01+01:00"})

    assert [item["id"] for item in before.json()["items"]] == [incident["id"]]
    assert after.json()["items"] == []


# --- any time with any offset: never a 500 ---------------------------------------------------

PROPERTY = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LOCAL_TIMES = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
OFFSET_MINUTES = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)
# a few years near the edges of both ranges, where the overflows live
EDGE_YEARS = st.sampled_from([1, 2, 1969, 1970, 2100, 2101, 9998, 9999])


def written(local: datetime, offset_minutes: int | None) -> str:
    if offset_minutes is None:
        return local.isoformat() + "Z"
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{local.isoformat()}{sign}{hours:02d}:{minutes:02d}"


def in_range(local: datetime, offset_minutes: int | None) -> bool:
    try:
        utc = local - timedelta(minutes=offset_minutes or 0)
    except OverflowError:
        return False
    return all(1970 <= year <= 2100 for year in (local.year, utc.year))


@st.composite
def any_time(draw: st.DrawFn) -> tuple[datetime, int | None]:
    local = draw(LOCAL_TIMES)
    if draw(st.booleans()):
        local = local.replace(year=draw(EDGE_YEARS), month=12 if local.day > 28 else local.month)
    return local, draw(st.none() | OFFSET_MINUTES)


@PROPERTY
@given(moment=any_time())
def test_any_time_filter_lists_or_is_refused_by_name(
    api: ApiClient, moment: tuple[datetime, int | None]
) -> None:
    text = written(*moment)

    response = api.get("/v1/incidents", params={"opened_after": text})

    if in_range(*moment):
        assert response.status_code == 200, (text, response.text)
    else:
        assert refused_field(response) == ("opened_after", "query"), text


@pytest.fixture
def parcel(api: ApiClient) -> dict[str, Any]:
    """One parcel for every example of a property (fixtures run once per test)."""
    return register_parcel(api)


@PROPERTY
@given(moment=any_time())
def test_any_scan_time_is_stored_or_refused_never_a_500(
    api: ApiClient, parcel: dict[str, Any], moment: tuple[datetime, int | None]
) -> None:
    text = written(*moment)

    response = api.post(f"/v1/parcels/{parcel['id']}/scans", json={"scans": [scan(text)]})

    assert response.status_code < 500, (text, response.text)
    if not in_range(*moment):
        assert refused_field(response) == ("scans.0.occurred_at", "body"), text
