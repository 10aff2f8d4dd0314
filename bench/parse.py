"""Parse throughput per carrier: scans per second on one core, from the carriers' fixtures.

Every ``track_*.json`` listed in a carrier's ``tests/adapters/fixtures/<code>/cases.json`` is
parsed over and over by the carrier's pure ``parse_tracking`` (what a poll does with a
response body once it is decoded); the figure is scans produced per second of CPU.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from adapters import registry
from bench.figures import Figure

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "adapters" / "fixtures"


def _bodies(code: str) -> list[tuple[Any, list[str]]]:
    folder = FIXTURES / code
    cases = json.loads((folder / "cases.json").read_text())
    return [(json.loads((folder / c["file"]).read_text()), c["numbers"]) for c in cases]


def _scans_per_second(code: str, seconds: float) -> float:
    parse = sys.modules[registry.ADAPTERS[code].__module__].parse_tracking
    bodies = _bodies(code)
    scans = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for body, numbers in bodies:
            scans += sum(len(result.scans) for result in parse(body, numbers))
    return scans / (time.process_time() - started)


def run(quick: bool) -> list[Figure]:
    seconds, runs = (0.2, 1) if quick else (1.0, 5)
    codes = [code for code in registry.ADAPTERS if (FIXTURES / code / "cases.json").exists()]
    return [
        Figure(
            f"parse {code}",
            "scans/s/core",
            tuple(_scans_per_second(code, seconds) for _ in range(runs)),
        )
        for code in codes
    ]
