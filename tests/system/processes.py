"""Real child processes for the system tests: API replicas, schedulers, the fake carrier.

Every child gets a clean environment (no ``RT_*`` or ``DATABASE_URL`` leaking in from the
shell), writes its output to a log file, and is killed when the ``Processes`` block ends,
whatever happened, so a failed test never leaves an orphan holding a port or a database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from bench.load import free_port

REPO = Path(__file__).resolve().parents[2]
STOP_GRACE_SECONDS = 5.0


def rt_env(database_url: str, data_dir: Path, **settings: object) -> dict[str, str]:
    """Service settings as environment variables: ``poll_interval_seconds=1`` is
    ``RT_POLL_INTERVAL_SECONDS=1``; lists and booleans are written as JSON."""
    env = {"DATABASE_URL": database_url, "RT_DATA_DIR": str(data_dir), "RT_LOG_FORMAT": "json"}
    env["RT_RATE_LIMIT_PER_MINUTE"] = "0"  # the load tests send thousands with one key
    for name, value in settings.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = "[" + ",".join(str(v) for v in value) + "]"
        else:
            text = str(value)
        env[f"RT_{name.upper()}"] = text
    return env


def carrier_env(base_url: str) -> dict[str, str]:
    """UPS, FedEx and DHL pointed at the fake carrier, with no pacing and high limits."""
    env: dict[str, str] = {}
    for carrier in ("UPS", "FEDEX"):
        env |= {
            f"RT_{carrier}_CLIENT_ID": "system-test",
            f"RT_{carrier}_CLIENT_SECRET": "system-test",
            f"RT_{carrier}_BASE_URL": base_url,
            f"RT_{carrier}_REQUESTS_PER_SECOND": "0",
            f"RT_{carrier}_MAX_CONCURRENCY": "16",
        }
    return env | {
        "RT_DHL_API_KEY": "system-test",
        "RT_DHL_BASE_URL": base_url,
        "RT_DHL_REQUESTS_PER_SECOND": "0",
        "RT_DHL_MAX_CONCURRENCY": "256",
        "RT_DHL_BATCH_SIZE": "50",
        "RT_DHL_DAILY_QUOTA": "1000000",
    }


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RT_") and k != "DATABASE_URL"}


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (pid {self.pid}) ---\n" + "\n".join(text.splitlines()[-lines:])


class Processes:
    """Starts children and, on exit, stops every one still running (SIGTERM, then SIGKILL)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def start(self, name: str, args: list[str], env: Mapping[str, str], url: str = "") -> Child:
        log = self.log_dir / f"{name}-{len(self.children)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                [sys.executable, *args],
                cwd=REPO,
                env={**_clean_environ(), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to the test's process group never hits it
            )
        child = Child(name, process, log, url)
        self.children.append(child)
        return child

    def api(self, name: str, env: Mapping[str, str]) -> Child:
        """An API replica (uvicorn, as ``python -m app serve`` runs it) on a free port,
        without the embedded scheduler; no access log, which would cost CPU per request."""
        port = free_port()
        args = ["-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--no-access-log"]
        return self.start(
            name, args, {**env, "RT_SCHEDULER": "off"}, url=f"http://127.0.0.1:{port}"
        )

    def scheduler(self, name: str, env: Mapping[str, str]) -> Child:
        return self.start(name, ["-m", "app.scheduler"], env)

    def fake_carrier(self, env: Mapping[str, str]) -> Child:
        port = free_port()
        args = ["-m", "uvicorn", "bench.fake_carrier:create_app", "--factory"]
        args += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        # a silent carrier's requests never finish: do not wait for them on the way out
        args += ["--no-access-log", "--timeout-graceful-shutdown", "1"]
        return self.start("fake-carrier", args, env, url=f"http://127.0.0.1:{port}")

    def kill(self, child: Child) -> None:
        """SIGKILL: no shutdown handler runs, open transactions and leases are left behind."""
        child.process.send_signal(signal.SIGKILL)
        child.process.wait(timeout=30)

    def stop_all(self) -> None:
        for child in self.children:
            if child.alive():
                child.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(child.tail() for child in self.children)


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str | Callable[[], str],
    processes: Processes | None = None,
    interval: float = 0.25,
) -> None:
    """Poll ``condition`` until it holds; on timeout fail naming ``what`` (a text, or a
    function describing the state at that moment) and showing the children's logs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            logs = f"\n{processes.logs()}" if processes is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {described}{logs}")
        time.sleep(interval)


def ready(child: Child) -> bool:
    """The child answers ``/readyz`` with 200 (fails at once if it has died)."""
    if not child.alive():
        raise AssertionError(f"{child.name} exited with {child.process.returncode}\n{child.tail()}")
    try:
        return httpx.get(f"{child.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(processes: Processes, *children: Child, timeout: float = 60) -> None:
    for child in children:
        what = f"{child.name} /readyz"
        wait_for(partial(ready, child), timeout=timeout, what=what, processes=processes)


def wait_listening(processes: Processes, child: Child, *, timeout: float = 60) -> None:
    """For a child without /readyz (the fake carrier): any HTTP answer will do."""

    def up() -> bool:
        if not child.alive():
            raise AssertionError(f"{child.name} exited\n{child.tail()}")
        try:
            httpx.get(f"{child.url}/openapi.json", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    wait_for(up, timeout=timeout, what=f"{child.name} listening", processes=processes)
