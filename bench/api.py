"""The API under a real load generator: our endpoints as a ratio of a bare FastAPI floor.

One uvicorn worker each, the same server settings, wrk with 2 threads and fixed connections
and duration, PostgreSQL on this machine. Goals (the speed issue): reading an incident at
≥ 40% of the bare endpoint's requests per second; creating an incident with p99 ≤ 100 ms at
32 connections; the server's RSS after 100,000 requests ≤ 250 MB.
"""

from __future__ import annotations

import json
import tempfile

import httpx

from bench.figures import Figure
from bench.load import LoadResult, uvicorn_server, wrk
from bench.pg import throwaway_database

KEY = "rt_bench_" + "k" * 40
AUTH = {"Authorization": f"Bearer {KEY}"}
CONNECTIONS = 32
_CREATE_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '%s'
"""


def _seed(base: str) -> tuple[str, str]:
    """A parcel and one incident to read; returns (parcel id, incident id)."""
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
        parcel = client.post(
            "/v1/parcels",
            json={
                "order_id": "SO-BENCH-1",
                "tracking_number": "SANDBOX-STALLED-BENCH1",
                "origin_country": "CN",
                "destination_country": "DE",
                "customer": {"name": "Maria Schmidt", "email": "maria@example.com"},
            },
        )
        parcel.raise_for_status()
        parcel_id = parcel.json()["id"]
        incident = client.post("/v1/incidents", json=_incident_body(parcel_id))
        incident.raise_for_status()
        return parcel_id, incident.json()["id"]


def _incident_body(parcel_id: str) -> dict[str, str]:
    return {
        "type": "delay",
        "source": "customer",
        "parcel_id": parcel_id,
        "description": "Customer says the parcel has not moved for a week.",
    }


def _checked(result: LoadResult, what: str) -> LoadResult:
    if result.non_2xx:
        raise RuntimeError(f"{what}: {result.non_2xx} answers were not 2xx")
    return result


def run(quick: bool) -> list[Figure]:
    seconds, runs, memory_requests = (3, 1, 5_000) if quick else (10, 3, 100_000)
    with uvicorn_server("bench.bare_app:create_app", {}) as server:
        bare = [
            _checked(
                wrk(f"{server.url}/constant", connections=CONNECTIONS, seconds=seconds), "bare"
            )
            for _ in range(runs)
        ]
    with throwaway_database("api") as db, tempfile.TemporaryDirectory() as data_dir:
        env = {
            "DATABASE_URL": db.url,
            "RT_SCHEDULER": "off",
            "RT_AUTO_MIGRATE": "false",
            "RT_BOOTSTRAP_API_KEY": KEY,
            "RT_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
            "RT_DATA_DIR": data_dir,
            "RT_LOG_LEVEL": "WARNING",
            # counted as in production, but never reached: wrk sends thousands with one key
            "RT_RATE_LIMIT_PER_MINUTE": "1000000000",
        }
        with uvicorn_server("app.main:create_app", env) as server:
            parcel_id, incident_id = _seed(server.url)
            read_url = f"{server.url}/v1/incidents/{incident_id}"
            reads = [
                _checked(
                    wrk(read_url, connections=CONNECTIONS, seconds=seconds, headers=AUTH), "read"
                )
                for _ in range(runs)
            ]
            body = json.dumps(_incident_body(parcel_id))
            creates = [
                _checked(
                    wrk(
                        f"{server.url}/v1/incidents",
                        connections=CONNECTIONS,
                        seconds=seconds,
                        headers=AUTH,
                        lua=_CREATE_LUA % body,
                    ),
                    "create",
                )
                for _ in range(runs)
            ]
            served = sum(r.requests for r in reads + creates)
            while served < memory_requests:
                served += _checked(
                    wrk(read_url, connections=CONNECTIONS, seconds=seconds, headers=AUTH), "read"
                ).requests
            rss = server.rss_mb()
    floor = sorted(r.requests_per_second for r in bare)[len(bare) // 2]
    ratios = tuple(r.requests_per_second / floor for r in reads)
    p99s = tuple(r.p99_ms for r in creates)
    return [
        Figure(
            "API floor: bare FastAPI GET, 1 worker, 32 conns",
            "req/s",
            tuple(r.requests_per_second for r in bare),
        ),
        Figure("GET /v1/incidents/{id}", "req/s", tuple(r.requests_per_second for r in reads)),
        Figure(
            "GET /v1/incidents/{id} as a share of the floor",
            "ratio",
            ratios,
            target="≥ 0.40",
            met=min(ratios) >= 0.40,
        ),
        Figure("POST /v1/incidents", "req/s", tuple(r.requests_per_second for r in creates)),
        Figure(
            "POST /v1/incidents p99 at 32 conns",
            "ms",
            p99s,
            target="≤ 100 ms",
            met=max(p99s) <= 100,
        ),
        Figure(
            f"server RSS after {served:,} requests",
            "MB",
            (rss,),
            target="≤ 250 MB",
            met=rss <= 250,
        ),
    ]
