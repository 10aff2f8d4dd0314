"""Talking to the API replicas over real HTTP, and the parcels the system tests register.

Tracking numbers carry their fake-carrier scenario in a prefix (``bench.fake_carrier``), and
are valid for their carrier (format and check digit), as a storefront would send them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.checkdigits import mod10_even_x3_check_digit, ups_check_digit

# prefix -> fake carrier scenario; UPS numbers carry it as their shipper account
UPS_PREFIXES = {
    "in_transit": "1ZMOVING",
    "delivered": "1ZDELIVD",
    "stalled": "1ZSTALLD",
    "customs": "1ZCUSTMS",
}
FEDEX_PREFIXES = {"in_transit": "611", "delivered": "612", "stalled": "613", "customs": "614"}
DHL_PREFIX = "8"  # every DHL number: the carrier never answers
SILENT_CARRIER = "dhl"


def scenario_prefixes() -> dict[str, str]:
    """``RT_FAKE_CARRIER_SCENARIOS`` for the fake carrier."""
    by_prefix = {prefix: scenario for scenario, prefix in UPS_PREFIXES.items()}
    by_prefix |= {prefix: scenario for scenario, prefix in FEDEX_PREFIXES.items()}
    return by_prefix | {DHL_PREFIX: "silent"}


def ups_number(scenario: str, serial: int) -> str:
    body = f"{UPS_PREFIXES[scenario][2:]}66{serial:07d}"
    return f"1Z{body}{ups_check_digit(body)}"


def fedex_number(scenario: str, serial: int) -> str:
    """A 15-digit FedEx Ground number."""
    first = f"{FEDEX_PREFIXES[scenario]}{serial:011d}"
    return f"{first}{mod10_even_x3_check_digit(first)}"


def dhl_number(serial: int) -> str:
    """A 10-digit DHL Express waybill (check digit: the first nine mod 7)."""
    first = f"{DHL_PREFIX}{serial:08d}"
    return f"{first}{int(first) % 7}"


@dataclass(frozen=True, slots=True)
class PlannedParcel:
    carrier: str
    tracking_number: str
    scenario: str  # in_transit, delivered, stalled, customs, silent

    def payload(self, index: int) -> dict[str, Any]:
        return {
            "order_id": f"SO-{index:06d}",
            "tracking_number": self.tracking_number,
            "carrier": self.carrier,
            "origin_country": "CN",
            "destination_country": "DE",
            "customer": {"name": f"Customer {index}", "email": f"c{index}@example.com"},
            "declared_value": "49.90",
            "currency": "EUR",
        }


def _number(carrier: str, scenario: str, serial: int) -> str:
    if carrier == "ups":
        return ups_number(scenario, serial)
    if carrier == "fedex":
        return fedex_number(scenario, serial)
    return dhl_number(serial)


def plan(counts: dict[tuple[str, str], int], *, seed: int) -> list[PlannedParcel]:
    """``{(carrier, scenario): how many}`` as parcels, shuffled (a seeded, mixed stream)."""
    parcels: list[PlannedParcel] = []
    serial = 0
    for (carrier, scenario), count in counts.items():
        for _ in range(count):
            serial += 1
            parcels.append(PlannedParcel(carrier, _number(carrier, scenario, serial), scenario))
    random.Random(seed).shuffle(parcels)
    return parcels


def old_scan(days: int) -> dict[str, Any]:
    """A pushed in-transit scan ``days`` ago: the parcel looks stalled to anyone judging it."""
    return {
        "scans": [
            {
                "status": "in_transit",
                "occurred_at": (datetime.now(UTC) - timedelta(days=days)).isoformat(),
                "description": "Departed export hub",
                "location": {"city": "Shenzhen", "country": "CN"},
            }
        ]
    }


class Service:
    """The API replicas behind one API key; request ``i`` goes to replica ``i % n``."""

    def __init__(self, urls: Sequence[str], key: str) -> None:
        self.urls = list(urls)
        self.headers = {"Authorization": f"Bearer {key}"}
        self.client = httpx.Client(headers=self.headers, timeout=30)

    def url(self, i: int, path: str) -> str:
        return self.urls[i % len(self.urls)] + path

    def get(self, path: str, *, i: int = 0) -> httpx.Response:
        return self.client.get(self.url(i, path))

    def post(self, path: str, body: Any, *, i: int = 0, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.client.post(self.url(i, path), json=body, headers=headers)

    def put(self, path: str, body: Any, *, i: int = 0) -> httpx.Response:
        return self.client.put(self.url(i, path), json=body)

    def subscribe(self, url: str) -> tuple[str, str]:
        """A webhook endpoint for every event type: (its id, its signing secret)."""
        response = self.post("/v1/webhook-endpoints", {"url": url, "description": "system test"})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["id"], body["secret"]

    def register(self, parcels: Sequence[PlannedParcel], *, offset: int = 0) -> list[str]:
        """Register every parcel (alternating replicas, 8 in flight); their ids, in order."""
        return asyncio.run(self._register_all(parcels, offset))

    async def _register_all(self, parcels: Sequence[PlannedParcel], offset: int) -> list[str]:
        slots = asyncio.Semaphore(8)
        async with httpx.AsyncClient(headers=self.headers, timeout=30) as client:

            async def one(i: int, parcel: PlannedParcel) -> str:
                async with slots:
                    response = await self._post_retrying(client, i, parcel)
                assert response.status_code == 201, response.text
                return str(response.json()["id"])

            return list(await asyncio.gather(*(one(offset + i, p) for i, p in enumerate(parcels))))

    async def _post_retrying(
        self, client: httpx.AsyncClient, i: int, parcel: PlannedParcel
    ) -> httpx.Response:
        """As a storefront does: a connection lost mid-request is retried with the same
        Idempotency-Key, so the retry is answered once (a kept-alive connection the server
        closes just as the client reuses it is lost that way under load)."""
        headers = {"Idempotency-Key": f"soak-register-{i}"}
        for attempt in range(3):
            try:
                return await client.post(
                    self.url(i, "/v1/parcels"), json=parcel.payload(i), headers=headers
                )
            except httpx.TransportError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.client.close()
