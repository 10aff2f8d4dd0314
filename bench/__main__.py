"""``python3 dev.py bench [name ...]``: run the benchmarks, print their figures, keep them.

Every benchmark is a module of this package listed in ``BENCHMARKS`` with a
``run(quick: bool) -> list[Figure]`` function. Figures are printed as a table and written
to ``bench/results.json`` so runs can be compared. ``--quick`` shrinks every workload (for a
smoke run); the figures that matter come from a full run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import Figure

BENCHMARKS: dict[str, str] = {
    "api": "bench.api",
    "parse": "bench.parse",
    "poll": "bench.poll",
    "poison": "bench.poison",
    "detect": "bench.detect",
    "webhooks": "bench.webhooks",
    "export": "bench.export",
    "import": "bench.imports",
    "contract": "bench.contract",
    "desk": "bench.desk_queue",
    "notices": "bench.notices",
}
RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], help="default: all")
    parser.add_argument("--quick", action="store_true", help="small workloads, for a smoke run")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    figures: list[Figure] = []
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        started = time.monotonic()
        print(f"== {name}", flush=True)
        results: list[Figure] = module.run(quick=args.quick)
        for figure in results:
            print(f"   {figure.render()}", flush=True)
        print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
        figures.extend(results)
    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "machine": {"python": platform.python_version(), "cpus": _cpus()},
                "quick": args.quick,
                "figures": [figure.as_dict() for figure in figures],
            },
            indent=2,
        )
    )
    print(f"written: {RESULTS}")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
