"""Every process logs as RT_LOG_LEVEL and RT_LOG_FORMAT say, uvicorn's own lines included.

Real processes: ``python -m app serve`` on a free port of 127.0.0.1 with SQLite in a temporary
directory, asked for /healthz and stopped with SIGTERM; ``python -m app migrate`` once.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.logging import configure_logging

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(tmp_path: Path, *, level: str, fmt: str = "json") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{tmp_path / 'rt.db'}",
        RT_DATA_DIR=str(tmp_path),
        RT_LOG_FORMAT=fmt,
        RT_LOG_LEVEL=level,
        RT_SCHEDULER="off",
        RT_BOOTSTRAP_API_KEY="rt_logging_test_key_0123456789",
    )
    return env


def serve_and_ask_healthz(tmp_path: Path, *, level: str) -> list[str]:
    """Start the service, ask /healthz once it answers, stop it; its output lines."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=environment(tmp_path, level=level),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not answer /healthz in 60 s"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises the signal
    return [line for line in output.splitlines() if line.strip()]


def as_json(lines: list[str]) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        record = json.loads(line)  # fails on any line that is not JSON
        assert isinstance(record, dict), line
        assert {"level", "event", "timestamp"} <= record.keys(), line
        records.append(record)
    return records


def test_serve_writes_json_lines_with_uvicorn_access_log(tmp_path: Path) -> None:
    records = as_json(serve_and_ask_healthz(tmp_path, level="INFO"))

    [access] = [r for r in records if r.get("logger") == "uvicorn.access"]
    assert '"GET /healthz HTTP/1.1" 200' in access["event"]
    assert (access["level"], access["method"], access["path"], access["status"]) == (
        "info",
        "GET",
        "/healthz",
        200,
    )
    events = [r["event"] for r in records]
    assert any(e.startswith("Application startup complete") for e in events)
    assert all("color_message" not in r for r in records)  # uvicorn's terminal copy


def test_serve_at_warning_prints_no_info_or_debug(tmp_path: Path) -> None:
    records = as_json(serve_and_ask_healthz(tmp_path, level="WARNING"))

    assert [r for r in records if r["level"] in ("debug", "info")] == []


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_the_cli_logs_as_configured(tmp_path: Path, fmt: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=tmp_path,
        env=environment(tmp_path, level="INFO", fmt=fmt),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert done.stdout == "database is at the latest migration\n"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert any("Running upgrade" in line for line in lines)  # alembic's lines, through ours
    if fmt == "json":
        assert all(r["logger"].startswith("alembic") for r in as_json(lines))
    else:
        assert all(not line.startswith("{") for line in lines)


def test_the_schedulers_own_chatter_stays_out_of_the_log_at_info() -> None:
    root, apscheduler = logging.getLogger(), logging.getLogger("apscheduler")
    saved = (root.handlers[:], root.level, apscheduler.level)
    try:
        configure_logging("INFO", "json")
        runs = logging.getLogger("apscheduler.executors.default")
        assert runs.getEffectiveLevel() == logging.WARNING
        configure_logging("DEBUG", "console")
        assert apscheduler.getEffectiveLevel() == logging.WARNING
        configure_logging("ERROR", "console")
        assert apscheduler.getEffectiveLevel() == logging.ERROR
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        apscheduler.setLevel(saved[2])
