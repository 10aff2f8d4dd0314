"""A steady stream of writes from a few threads, every request and its outcome remembered.

Each request is a new parcel (``POST /v1/parcels``) or a new customer incident that registers
its parcel on the way (``POST /v1/incidents``), each with its own ``Idempotency-Key`` and its
own sandbox tracking number, so afterwards every answer can be checked against the database.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Sent:
    path: str
    key: str
    body: dict[str, Any]
    status: int | None  # None: no HTTP answer at all (``answer`` holds the error)
    answer: dict[str, Any] = field(default_factory=dict)
    content_type: str = ""
    replayed: bool = False
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def tracking_number(self) -> str:
        return str(self.body["tracking_number"])


def request_for(n: int) -> tuple[str, dict[str, Any]]:
    """The n-th write: parcels and incidents alternate, each with a fresh parcel."""
    number = f"SANDBOX-INTRANSIT-LOAD-{n:05d}"
    if n % 2:
        return "/v1/incidents", {
            "type": "delay",
            "order_id": f"SO-L{n:05d}",
            "tracking_number": number,
            "carrier": "sandbox",
            "description": "Customer asks where the parcel is",
        }
    return "/v1/parcels", {
        "order_id": f"SO-L{n:05d}",
        "tracking_number": number,
        "carrier": "sandbox",
        "origin_country": "CN",
        "destination_country": "DE",
    }


def send(client: httpx.Client, url: str, path: str, key: str, body: dict[str, Any]) -> Sent:
    try:
        response = client.post(url + path, json=body, headers={"Idempotency-Key": key})
    except httpx.HTTPError as exc:
        return Sent(path, key, body, None, {"error": f"{type(exc).__name__}: {exc}"})
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    return Sent(
        path,
        key,
        body,
        response.status_code,
        answer if isinstance(answer, dict) else {},
        content_type=response.headers.get("content-type", ""),
        replayed=response.headers.get("idempotent-replayed") == "true",
    )


class Load:
    """``threads`` workers sending writes back to back until ``stop()``."""

    def __init__(self, url: str, api_key: str, *, threads: int = 3) -> None:
        self.url = url
        self.api_key = api_key
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._numbers = itertools.count(1)
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _work(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        with httpx.Client(headers=headers, timeout=15) as client:
            while not self._stop.is_set():
                with self._lock:
                    n = next(self._numbers)
                path, body = request_for(n)
                sent = send(client, self.url, path, f"load-{n}", body)
                with self._lock:
                    self.sent.append(sent)
                if sent.status is None or sent.status >= 500:
                    time.sleep(0.05)  # the database is away: no need to spin

    def successes(self, *, since: float = 0.0) -> int:
        with self._lock:
            return sum(1 for s in self.sent if s.ok and s.at >= since)

    def snapshot(self) -> list[Sent]:
        with self._lock:
            return list(self.sent)
