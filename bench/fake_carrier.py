"""A fake UPS, FedEx and DHL on 127.0.0.1 for benchmarks and system tests: real bodies.

Every tracking answer is one of the carrier's own fixtures (tests/adapters/fixtures) with the
asked number put in and its dates moved so the newest scan is a chosen number of days ago,
sent after ``RT_FAKE_CARRIER_LATENCY`` seconds (default 0.2).

What a number gets is its *scenario*, chosen by the longest matching prefix in
``RT_FAKE_CARRIER_SCENARIOS`` (a JSON object ``{"prefix": "scenario"}``); a number no prefix
matches is ``in_transit``, which is all the polling benchmark uses:

- ``in_transit``: moving, newest scan yesterday;
- ``delivered``: delivered yesterday;
- ``stalled``: in transit, but the newest scan is ``STALLED_DAYS`` days old;
- ``customs``: held in customs since yesterday;
- ``silent``: the carrier never answers (the request hangs until the client gives up);
- ``broken``: the carrier fails this number with HTTP 500 every time (a poison number); FedEx,
  which tracks 30 numbers a call, fails the whole call that asks for it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from fastapi import FastAPI, HTTPException, Query, Request, Response

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "adapters" / "fixtures"
TOKEN = {"access_token": "bench-token", "token_type": "Bearer", "expires_in": "14399"}
SCENARIOS_ENV = "RT_FAKE_CARRIER_SCENARIOS"
STALLED_DAYS = 15
SILENT_SECONDS = 3600.0  # far beyond any client timeout

Scenario = Literal["in_transit", "delivered", "stalled", "customs", "silent", "broken"]
SCENARIOS: tuple[str, ...] = get_args(Scenario)
# scenario -> (fixture file, age in days of the newest scan)
_ANSWERS: dict[str, tuple[str, int]] = {
    "in_transit": ("track_in_transit", 1),
    "delivered": ("track_delivered", 1),
    "stalled": ("track_in_transit", STALLED_DAYS),
    "customs": ("track_customs_hold", 1),
}

_UPS_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def _shift(value: Any, days: int) -> Any:
    """Every date in the body moved by ``days`` (UPS ``YYYYMMDD``, ISO ``YYYY-MM-DD...``)."""
    if isinstance(value, dict):
        return {key: _shift(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, days) for item in value]
    if isinstance(value, str):
        for pattern, layout in ((_UPS_DATE, "%Y%m%d"), (_ISO_DATE, "%Y-%m-%d")):
            match = pattern.match(value)
            if match:
                day = date(*map(int, match.groups())) + timedelta(days=days)
                return day.strftime(layout) + value[match.end() :]
    return value


def _newest_date(value: Any) -> date:
    found: list[date] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for child in item.values():
                walk(child)
        elif isinstance(item, list):
            for child in item:
                walk(child)
        elif isinstance(item, str):
            match = _UPS_DATE.match(item) or _ISO_DATE.match(item)
            if match:
                found.append(date(*map(int, match.groups())))

    walk(value)
    return max(found)


def _fixture(carrier: str, name: str = "track_in_transit", age_days: int = 1) -> dict[str, Any]:
    """A fixture of the carrier with its newest scan moved to ``age_days`` days ago."""
    body: dict[str, Any] = json.loads((FIXTURES / carrier / f"{name}.json").read_text())
    newest = datetime.now(UTC).date() - timedelta(days=age_days)
    shifted: dict[str, Any] = _shift(body, (newest - _newest_date(body)).days)
    return shifted


def scenario_for(number: str, prefixes: Mapping[str, str]) -> str:
    """The scenario of the longest prefix of ``number`` in ``prefixes``, else in transit."""
    best = max((p for p in prefixes if number.startswith(p)), key=len, default=None)
    return prefixes[best] if best is not None else "in_transit"


def _read_prefixes() -> dict[str, str]:
    prefixes: dict[str, str] = json.loads(os.environ.get(SCENARIOS_ENV, "{}"))
    unknown = sorted(set(prefixes.values()) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"{SCENARIOS_ENV}: unknown scenarios {unknown}; known: {SCENARIOS}")
    return prefixes


_NUMBER = "rt-fake-carrier-number"  # stands for the asked number in a serialised answer
_RESULTS = "rt-fake-carrier-results"  # stands for FedEx's list of results


class Answer:
    """An answer serialised once, the asked number put in per request: building and
    encoding a FedEx answer of 30 results took the fake 10-30 ms of CPU a call, which the
    poll benchmark counted against the poller sharing its cores."""

    def __init__(self, body: Any, marker: str = _NUMBER) -> None:
        self.parts = json.dumps(body).split(json.dumps(marker))

    def text(self, value: str, *, raw: bool = False) -> str:
        """The answer with ``value`` (JSON-encoded unless ``raw``) where the marker was."""
        return (value if raw else json.dumps(value)).join(self.parts)


def _ups_answer(template: dict[str, Any]) -> Answer:
    body = copy.deepcopy(template)
    shipment = body["trackResponse"]["shipment"][0]
    shipment["inquiryNumber"] = _NUMBER
    shipment["package"][0]["trackingNumber"] = _NUMBER
    return Answer(body)


def _fedex_result(template: dict[str, Any]) -> Answer:
    one: dict[str, Any] = copy.deepcopy(template["output"]["completeTrackResults"][0])
    one["trackingNumber"] = _NUMBER
    for track in one["trackResults"]:
        track["trackingNumberInfo"]["trackingNumber"] = _NUMBER
    return Answer(one)


def _fedex_envelope(template: dict[str, Any]) -> Answer:
    body = copy.deepcopy(template)
    body["output"]["completeTrackResults"] = _RESULTS
    return Answer(body, _RESULTS)


def _fedex_answer(envelope: Answer, results: list[Answer], numbers: list[str]) -> str:
    """One body answering every number, each from its own scenario's result."""
    listed = ",".join(r.text(n) for r, n in zip(results, numbers, strict=True))
    return envelope.text(f"[{listed}]", raw=True)


def _dhl_answer(template: dict[str, Any]) -> Answer:
    body = copy.deepcopy(template)
    body["shipments"] = body["shipments"][:1]
    body["shipments"][0]["id"] = _NUMBER
    return Answer(body)


def _json(text: str) -> Response:
    return Response(text, media_type="application/json")


def create_app() -> FastAPI:
    latency = float(os.environ.get("RT_FAKE_CARRIER_LATENCY", "0.2"))
    prefixes = _read_prefixes()
    ups, fedex, dhl, envelopes = {}, {}, {}, {}
    for scenario, (name, age) in _ANSWERS.items():
        ups[scenario] = _ups_answer(_fixture("ups", name, age))
        fedex[scenario] = _fedex_result(_fixture("fedex", name, age))
        envelopes[scenario] = _fedex_envelope(_fixture("fedex", name, age))
        dhl[scenario] = _dhl_answer(_fixture("dhl", name, age))
    app = FastAPI()

    async def answer_after_latency(numbers: list[str]) -> list[str]:
        """The scenario of each number, once the latency (or forever, if silent) has passed."""
        scenarios = [scenario_for(number, prefixes) for number in numbers]
        await asyncio.sleep(SILENT_SECONDS if "silent" in scenarios else latency)
        if "broken" in scenarios:
            raise HTTPException(500, "internal error")
        return scenarios

    @app.post("/security/v1/oauth/token")
    @app.post("/oauth/token")
    async def token() -> dict[str, str]:
        return TOKEN

    @app.get("/api/track/v1/details/{number}")
    async def ups_track(number: str) -> Response:
        [scenario] = await answer_after_latency([number])
        return _json(ups[scenario].text(number))

    @app.post("/track/v1/trackingnumbers")
    async def fedex_track(request: Request) -> Response:
        asked = await request.json()
        numbers = [n["trackingNumberInfo"]["trackingNumber"] for n in asked["trackingInfo"]]
        scenarios = await answer_after_latency(numbers)
        results = [fedex[s] for s in scenarios]
        return _json(_fedex_answer(envelopes[scenarios[0]], results, numbers))

    @app.get("/track/shipments")
    async def dhl_track(number: Annotated[str, Query(alias="trackingNumber")]) -> Response:
        [scenario] = await answer_after_latency([number])
        return _json(dhl[scenario].text(number))

    return app
