#!/usr/bin/env python3
"""The two commands a newcomer needs (they install what they need first):

    python3 dev.py serve [--host H] [--port P]   the service on SQLite (RT_HOST, RT_PORT)
    python3 dev.py test                          ruff, mypy and the whole test suite

Also: ``python3 dev.py pytest [args]`` (tests only) and ``python3 dev.py bench``.
Everything goes into one environment, ./.venv (or the one RT_DEV_VENV names), with the dev
extras, shared by every command; it is reinstalled only when pyproject.toml changes.
Ctrl-C or SIGTERM to dev.py stops what it started.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent
DEV_KEY = "rt_dev_local_only_change_me"
# the development supervisor of tenant 'default' (RT_BOOTSTRAP_SUPERVISOR_*): for this command
# only; a real deployment creates its people with `python -m app users create`
DEV_SUPERVISOR = ("dev@example.com", "rt-dev-local-only")
# Measured: a fresh .venv with the dev extras, no pip cache, took 36-43 s on a machine with a
# fast package mirror (about 90 packages, ~60 of them downloaded); allow for a slower network.
FIRST_INSTALL_NOTE = "the first time takes about 1-2 minutes"
STOP_GRACE_SECONDS = 10.0
# `serve` without RT_SMTP_HOST: e-mail to customers goes to a local sink (aiosmtpd, a dev
# dependency) that keeps each message as a file, so you can read what a customer would get
DEV_MAIL_PORT = 1025
DEV_MAILBOX = "mail"  # under RT_DATA_DIR (./data)
# SIGHUP: the terminal went away; the server should not outlive it.
FORWARDED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def venv_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """./.venv, or the environment RT_DEV_VENV names (the tests point it at one)."""
    return Path(environ.get("RT_DEV_VENV") or ROOT / ".venv")


def venv_python(venv_path: Path) -> Path:
    return venv_path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install_stamp(venv_path: Path) -> Path:
    """The marker of an install of this pyproject.toml: serve and test share it."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return venv_path / f".installed-{digest[:16]}"


def install_notice(venv_path: Path, *, first: bool) -> str:
    why = FIRST_INSTALL_NOTE if first else "pyproject.toml changed"
    return f"installing the project and its dev tools into {venv_path} ({why}) ..."


def ensure_environment(venv_path: Path) -> None:
    """Create the environment and install the project with its dev extras, unless done."""
    stamp = install_stamp(venv_path)
    if stamp.exists():
        return
    python = str(venv_python(venv_path))
    first = not Path(python).exists()
    print(install_notice(venv_path, first=first), flush=True)
    if first:
        venv.create(venv_path, with_pip=True)
    subprocess.run([python, "-m", "pip", "install", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "-e", ".[dev]"], check=True, cwd=ROOT)
    for old in venv_path.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def docs_url(serve_args: Sequence[str], environ: Mapping[str, str] = os.environ) -> str:
    """Where ``python -m app serve <serve_args>`` will answer: --host/--port beat RT_HOST/RT_PORT.

    Mirrors app/cli.py, which reads the same options and falls back to the settings.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host")
    parser.add_argument("--port")
    args, _ = parser.parse_known_args(serve_args)
    host = args.host or environ.get("RT_HOST") or "127.0.0.1"
    port = args.port or environ.get("RT_PORT") or "8000"
    # listening everywhere: this machine is one of those addresses (a comparison, not a bind)
    if host in ("0.0.0.0", "::", ""):  # noqa: S104
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/docs"


def exit_status(returncode: int) -> int:
    """A child killed by signal N exits the way a shell reports it: 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def supervise(command: Sequence[str], *, own_group: bool, grace: float = STOP_GRACE_SECONDS) -> int:
    """Run ``command`` until it ends; SIGINT/SIGTERM/SIGHUP to dev.py stop it too.

    ``own_group``: the child (and anything it starts) runs in its own process group, and
    every signal dev.py gets is sent to that group, so nothing is left running. Without it
    the child stays in the terminal's foreground group, where it can read the terminal
    (``pytest --pdb``) and gets Ctrl-C from the terminal itself; dev.py then forwards only
    SIGTERM and SIGHUP. After the first signal the child has ``grace`` seconds, then it is
    killed; a second signal kills it at once.
    """
    received: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def send(signum: int) -> None:
        if child is None or child.returncode is not None:
            return
        try:
            if own_group and os.name == "posix":
                os.killpg(child.pid, signum)
            else:
                os.kill(child.pid, signum)
        except ProcessLookupError:
            pass

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            send(getattr(signal, "SIGKILL", signal.SIGTERM))
        elif own_group or signum != signal.SIGINT:
            send(signal.SIGTERM if signum != signal.SIGINT else signum)

    # Handlers first, so a signal between the start and the wait is not lost. They are
    # functions, not SIG_IGN, so the child starts with the default dispositions.
    previous = {signum: signal.signal(signum, on_signal) for signum in FORWARDED}
    try:
        print("+ " + " ".join(command), flush=True)
        group = 0 if own_group and os.name == "posix" else None
        child = subprocess.Popen(command, cwd=ROOT, process_group=group)
        deadline: float | None = None
        while True:
            try:
                return exit_status(child.wait(timeout=0.2))
            except subprocess.TimeoutExpired:
                pass
            if received and deadline is None:
                deadline = time.monotonic() + grace
            if deadline is not None and time.monotonic() > deadline:
                print(f"dev.py: still running {grace:.0f} s after the signal; killing it")
                send(getattr(signal, "SIGKILL", signal.SIGTERM))
                deadline = float("inf")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def start_mail_sink(python: str) -> subprocess.Popen[bytes]:
    """aiosmtpd on 127.0.0.1:DEV_MAIL_PORT writing every message into the maildir
    data/mail (new messages in data/mail/new/), and the settings that send there."""
    port = os.environ.get("RT_DEV_MAIL_PORT", str(DEV_MAIL_PORT))
    mailbox = Path(os.environ.get("RT_DATA_DIR") or ROOT / "data") / DEV_MAILBOX
    mailbox.parent.mkdir(parents=True, exist_ok=True)
    command = [python, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
    sink = subprocess.Popen([*command, "-c", "aiosmtpd.handlers.Mailbox", str(mailbox)], cwd=ROOT)
    os.environ.update(RT_SMTP_HOST="127.0.0.1", RT_SMTP_PORT=port, RT_SMTP_STARTTLS="false")
    print(
        f"e-mail to customers: a local mail sink on 127.0.0.1:{port} keeps each one in "
        f"{mailbox / 'new'}/ (set RT_SMTP_HOST to use a real server)"
    )
    return sink


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command not in ("serve", "test", "pytest", "bench"):
        print(__doc__)
        return 0 if command == "help" else 2
    venv_path = venv_dir()
    ensure_environment(venv_path)
    python = str(venv_python(venv_path))
    if command == "serve":
        if "RT_BOOTSTRAP_API_KEY" not in os.environ:
            os.environ["RT_BOOTSTRAP_API_KEY"] = DEV_KEY
            print(f"development API key (tenant 'default', every scope): {DEV_KEY}")
        if "RT_BOOTSTRAP_SUPERVISOR_EMAIL" not in os.environ:
            email, password = DEV_SUPERVISOR
            os.environ["RT_BOOTSTRAP_SUPERVISOR_EMAIL"] = email
            os.environ["RT_BOOTSTRAP_SUPERVISOR_PASSWORD"] = password
            print(f"development supervisor (tenant 'default'): {email}, password {password}")
        sink = start_mail_sink(python) if "RT_SMTP_HOST" not in os.environ else None
        print(f"API docs: {docs_url(rest)}", flush=True)
        try:  # the options go to app/cli.py unchanged
            return supervise([python, "-m", "app", "serve", *rest], own_group=True)
        finally:
            if sink is not None:
                sink.terminate()
                try:
                    sink.wait(timeout=STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    sink.kill()
    if command == "bench":
        return supervise([python, "-m", "bench", *rest], own_group=False)
    if command == "test":
        for check in (
            (python, "-m", "ruff", "check", "."),
            (python, "-m", "ruff", "format", "--check", "."),
            (python, "-m", "mypy", "dev.py", "app", "adapters", "tests", "bench"),
        ):
            if supervise(check, own_group=False) != 0:
                return 1
    # the whole suite on every core (pytest-xdist); `pytest` alone runs as it is asked
    parallel = ("-n", "auto") if command == "test" else ()
    return supervise([python, "-m", "pytest", *parallel, *rest], own_group=False)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
