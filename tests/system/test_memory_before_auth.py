"""Big bodies cost the server no memory: a real API process, eight 200 MB uploads at once.

Four come with a wrong key (and an Idempotency-Key, which once made the server read the whole
body before anyone knew who sent it), four with a good key but over ``RT_MAX_BODY_BYTES``
(two saying their length, two streamed without one). Each upload is a generator on a raw
socket that stops as soon as the server answers, so neither side ever holds 200 MB. The
server's resident memory (``VmRSS`` in ``/proc/<pid>/status``), sampled throughout, must stay
within a small margin of what it was before.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from app.core.tenancy import generate_secret
from tests.system.conftest import SECRET_KEY
from tests.system.processes import Processes, rt_env, wait_ready

UPLOAD_BYTES = 200 * 1024 * 1024
BLOCK = b"0" * (256 * 1024)
MAX_GROWTH_MB = 100
ANSWER_TIMEOUT_SECONDS = 30


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


@contextmanager
def peak_rss(pid: int) -> Iterator[list[float]]:
    """Samples the process's RSS every 20 ms while the block runs; yields the samples."""
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(rss_mb(pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        stop.set()
        sampler.join()
        samples.append(rss_mb(pid))


async def upload(url: str, headers: dict[str, str], *, chunked: bool) -> tuple[int, int]:
    """POST 200 MB to /v1/incidents, stopping when the answer arrives: (status, bytes sent)."""
    where = urlparse(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(UPLOAD_BYTES)}
    lines = [f"{k}: {v}" for k, v in {**headers, **framing}.items()]
    head = "\r\n".join(["POST /v1/incidents HTTP/1.1", f"Host: {where.netloc}", *lines])
    writer.write(head.encode() + b"\r\n\r\n")
    answer = asyncio.ensure_future(reader.readline())
    sent = 0
    frame = b"%x\r\n" % len(BLOCK) + BLOCK + b"\r\n" if chunked else BLOCK
    while sent < UPLOAD_BYTES and not answer.done():
        writer.write(frame)
        drained = asyncio.ensure_future(writer.drain())
        done, _ = await asyncio.wait({drained, answer}, return_when=asyncio.FIRST_COMPLETED)
        if drained not in done:
            drained.cancel()
            break
        if drained.exception() is not None:  # the server closed the connection
            break
        sent += len(BLOCK)
    try:
        status_line = await asyncio.wait_for(answer, timeout=ANSWER_TIMEOUT_SECONDS)
    except TimeoutError:
        status_line = b"- 0 no answer"
    finally:
        writer.transport.abort()
    return int(status_line.split()[1]), sent


async def eight_uploads(url: str, key: str) -> list[tuple[int, int]]:
    stranger = {"Authorization": f"Bearer {generate_secret()}", "Content-Type": "application/json"}
    known = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    uploads = [
        upload(url, {**stranger, "Idempotency-Key": f"big-{i}"}, chunked=i % 2 == 0)
        for i in range(4)
    ]
    uploads += [upload(url, known, chunked=i % 2 == 0) for i in range(4)]
    return list(await asyncio.gather(*uploads))


@pytest.mark.postgres_only
def test_eight_concurrent_200_mb_uploads_leave_the_servers_memory_flat(
    fresh_database_url: str, processes: Processes, tmp_path: Path
) -> None:
    key = generate_secret()
    env = rt_env(
        fresh_database_url,
        tmp_path / "data",
        secret_key=SECRET_KEY,
        bootstrap_api_key=key,
        log_level="WARNING",
    )
    api = processes.api("api", env)
    wait_ready(processes, api)
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}) as warm:
        for _ in range(20):  # every lazy import and pool connection made before measuring
            assert warm.get("/v1/parcels").status_code == 200
            warm.post("/v1/incidents", json={"type": "delay"})
    time.sleep(0.5)
    before = rss_mb(api.pid)

    started = time.monotonic()
    with peak_rss(api.pid) as samples:
        results = asyncio.run(eight_uploads(api.url, key))
    took = time.monotonic() - started

    growth = max(samples) - before
    assert growth < MAX_GROWTH_MB, f"RSS grew {growth:.0f} MB (from {before:.0f} MB)"
    statuses = [status for status, _ in results]
    assert statuses == [401] * 4 + [413] * 4, processes.logs()
    assert all(sent < UPLOAD_BYTES for _, sent in results)  # every upload was cut short
    assert took < 30
    print(  # the measurement, for the record (pytest -s)
        f"RSS before {before:.0f} MB, peak {max(samples):.0f} MB (+{growth:.1f} MB); "
        f"sent {[sent // 1024 for _, sent in results]} KiB in {took:.1f} s"
    )
