"""A fake UPS and FedEx on 127.0.0.1 for the polling benchmark: real bodies, fixed latency.

Every tracking answer is the carrier's own in-transit fixture (tests/adapters/fixtures) with
the asked numbers put in, sent after ``RT_FAKE_CARRIER_LATENCY`` seconds (default 0.2).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "adapters" / "fixtures"
TOKEN = {"access_token": "bench-token", "token_type": "Bearer", "expires_in": "14399"}


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


def _fixture(carrier: str) -> dict[str, Any]:
    """The carrier's in-transit answer, its newest scan moved to yesterday: a live parcel."""
    body: dict[str, Any] = json.loads((FIXTURES / carrier / "track_in_transit.json").read_text())
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    shifted: dict[str, Any] = _shift(body, (yesterday - _newest_date(body)).days)
    return shifted


def _ups_answer(template: dict[str, Any], number: str) -> dict[str, Any]:
    body = copy.deepcopy(template)
    shipment = body["trackResponse"]["shipment"][0]
    shipment["inquiryNumber"] = number
    shipment["package"][0]["trackingNumber"] = number
    return body


def _fedex_answer(template: dict[str, Any], numbers: list[str]) -> dict[str, Any]:
    body = copy.deepcopy(template)
    result = body["output"]["completeTrackResults"][0]
    answers = []
    for number in numbers:
        one = copy.deepcopy(result)
        one["trackingNumber"] = number
        for track in one["trackResults"]:
            track["trackingNumberInfo"]["trackingNumber"] = number
        answers.append(one)
    body["output"]["completeTrackResults"] = answers
    return body


def create_app() -> FastAPI:
    latency = float(os.environ.get("RT_FAKE_CARRIER_LATENCY", "0.2"))
    ups, fedex = _fixture("ups"), _fixture("fedex")
    app = FastAPI()

    @app.post("/security/v1/oauth/token")
    @app.post("/oauth/token")
    async def token() -> dict[str, str]:
        return TOKEN

    @app.get("/api/track/v1/details/{number}")
    async def ups_track(number: str) -> dict[str, Any]:
        await asyncio.sleep(latency)
        return _ups_answer(ups, number)

    @app.post("/track/v1/trackingnumbers")
    async def fedex_track(request: Request) -> dict[str, Any]:
        asked = await request.json()
        numbers = [n["trackingNumberInfo"]["trackingNumber"] for n in asked["trackingInfo"]]
        await asyncio.sleep(latency)
        return _fedex_answer(fedex, numbers)

    return app
