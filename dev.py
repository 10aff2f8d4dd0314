#!/usr/bin/env python3
"""The two commands a newcomer needs (they install what they need first):

    python3 dev.py serve    start the service at http://127.0.0.1:8000 on SQLite
    python3 dev.py test     run ruff, mypy and the whole test suite

Also: ``python3 dev.py pytest [args]`` (tests only) and ``python3 dev.py bench``.
Everything goes into ./.venv; it is reinstalled only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
DEV_KEY = "rt_dev_local_only_change_me"


def ensure_environment(extras: str) -> None:
    """Create .venv and install the project (with ``extras``) unless already up to date."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{digest[:16]}"
    if stamp.exists():
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    target = f".[{extras}]" if extras else "."
    print(f"installing {target} into .venv ...", flush=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
    )
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", target], check=True, cwd=ROOT
    )
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def run(*command: str) -> int:
    print("+ " + " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    python = str(BIN / "python")
    if command == "serve":
        ensure_environment("")
        if "RT_BOOTSTRAP_API_KEY" not in os.environ:
            os.environ["RT_BOOTSTRAP_API_KEY"] = DEV_KEY
            print(f"development API key (tenant 'default', every scope): {DEV_KEY}")
        print("API docs: http://127.0.0.1:8000/docs", flush=True)
        return run(python, "-m", "app", "serve", *rest)
    if command in ("test", "pytest"):
        ensure_environment("dev")
        if command == "test":
            for check in (
                (python, "-m", "ruff", "check", "."),
                (python, "-m", "ruff", "format", "--check", "."),
                (python, "-m", "mypy", "app", "adapters", "tests", "bench"),
            ):
                if run(*check) != 0:
                    return 1
        # the whole suite on every core (pytest-xdist); `pytest` alone runs as it is asked
        parallel = ("-n", "auto") if command == "test" else ()
        return run(python, "-m", "pytest", *parallel, *rest)
    if command == "bench":
        ensure_environment("dev")
        return run(python, "-m", "bench", *rest)
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
