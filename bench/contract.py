"""The contract fuzzing of tests/contract/test_schemathesis.py, at length, on PostgreSQL.

CI runs every operation with 10 generated examples and only the valid boundary values; this
runs 100 examples per operation (``--quick``: CI's size) and every invalid boundary variant
too, in a pytest subprocess against ``RT_BENCH_DATABASE_URL``'s server. Figures: operations
that kept their contract (the target is all of them), requests sent, and requests per second.
The request count comes from this module loaded into that pytest as a plugin
(``-p bench.contract``), which counts every call schemathesis makes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figures import Figure
from bench.pg import BENCH_POSTGRES_URL

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/contract/test_schemathesis.py"
_COUNT_FILE = "RT_CONTRACT_COUNT_FILE"
_requests_sent = 0


def pytest_configure(config: Any) -> None:
    """In the pytest subprocess only: count every request schemathesis sends."""
    import schemathesis

    @schemathesis.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        global _requests_sent
        _requests_sent += 1


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if path := os.environ.get(_COUNT_FILE):
        Path(path).write_text(json.dumps({"requests": _requests_sent}))


def _run_pytest(max_examples: int, coverage_mode: str, counts: Path) -> tuple[int, int, str]:
    env = {
        **os.environ,
        "RT_TEST_POSTGRES_URL": BENCH_POSTGRES_URL,
        "RT_CONTRACT_MAX_EXAMPLES": str(max_examples),
        "RT_CONTRACT_COVERAGE_MODE": coverage_mode,
        _COUNT_FILE: str(counts),
    }
    command = [sys.executable, "-m", "pytest", TEST, "-k", "postgresql", "-q", "-p"]
    command += ["bench.contract", "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    passed = _count(summary, "passed")
    failed = _count(summary, "failed") + _count(summary, "error")
    if done.returncode != 0:
        print(done.stdout[-6000:], done.stderr[-2000:], sep="\n", flush=True)
    return passed, failed, summary


def _count(summary: str, word: str) -> int:
    for part in summary.replace(" in ", ", ").split(", "):
        number, _, label = part.strip().partition(" ")
        if label.startswith(word) and number.isdigit():
            return int(number)
    return 0


def run(quick: bool) -> list[Figure]:
    max_examples, coverage_mode = (10, "positive") if quick else (100, "all")
    with tempfile.TemporaryDirectory() as folder:
        counts = Path(folder) / "counts.json"
        started = time.monotonic()
        passed, failed, summary = _run_pytest(max_examples, coverage_mode, counts)
        seconds = time.monotonic() - started
        sent = json.loads(counts.read_text())["requests"] if counts.exists() else 0
    print(f"   pytest: {summary}", flush=True)
    total = passed + failed
    return [
        Figure(
            f"contract: operations keeping it ({max_examples} examples, coverage {coverage_mode})",
            "operations",
            (float(passed),),
            target=f"all {total}",
            met=failed == 0 and total > 0,
        ),
        Figure("contract: requests sent", "requests", (float(sent),)),
        Figure("contract: requests per second (wall, incl. checks)", "req/s", (sent / seconds,)),
    ]
