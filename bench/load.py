"""A real load generator (wrk) against real servers on 127.0.0.1, for the API benchmark."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

_LATENCY = re.compile(r"^\s+(50|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s+(\d+) requests in", re.MULTILINE)
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def ensure_wrk() -> str:
    """wrk from the OS packages; installed on first use when we may (as root, Debian)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("   installing wrk (apt-get) ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
        )
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("the API benchmark needs wrk: install it (apt-get install wrk)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def uvicorn_server(factory: str, env: Mapping[str, str]) -> Iterator[Server]:
    """``uvicorn --factory`` with one worker, the same settings for every app measured."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, process, log)
            yield Server(url=url, pid=process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url + "/openapi.json", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start in 60 s")


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    requests: int
    non_2xx: int
    p50_ms: float
    p90_ms: float
    p99_ms: float


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    headers: Mapping[str, str] = {},
    lua: str | None = None,
) -> LoadResult:
    """Run wrk (2 threads, fixed connections and duration) and read its figures."""
    command = [ensure_wrk(), "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if lua:
            script.write(lua)
            script.flush()
            command += ["-s", script.name]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latency = {p: float(v) * _UNIT[u] for p, v, u in _LATENCY.findall(output)}
    errors = _ERRORS.search(output)
    rps, total = _RPS.search(output), _TOTAL.search(output)
    if rps is None or total is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    return LoadResult(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(errors.group(1)) if errors else 0,
        p50_ms=latency.get("50", 0.0),
        p90_ms=latency.get("90", 0.0),
        p99_ms=latency.get("99", 0.0),
    )
