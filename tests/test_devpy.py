"""dev.py as a newcomer runs it: real processes, real signals, nothing of the OS mocked.

dev.py is pointed (RT_DEV_VENV) at a throw-away "environment" whose bin/python hands over to
the interpreter running these tests, which already has the project installed; its install
stamp is written beforehand, so nothing is installed, except in the one test whose pip is a
recorder. Process ids are read from /proc, so the process tests need Linux.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import dev
from app.core.settings import Settings
from app.db.engine import Database
from app.people.models import User
from app.people.sign_in import sign_in

ROOT = Path(__file__).resolve().parents[1]
DEV_PY = str(ROOT / "dev.py")
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fake_venv(path: Path, *, installed: bool = True, record_pip: bool = False) -> Path:
    """A directory dev.py takes for an environment: bin/python runs this interpreter."""
    (path / "bin").mkdir(parents=True)
    pip = ""
    if record_pip:  # `python -m pip ...` only writes down what it was asked
        pip = f'[ "$1 $2" = "-m pip" ] && {{ echo "$*" >> "{path}/pip-calls"; exit 0; }}\n'
    python = path / "bin" / "python"
    python.write_text(f'#!/bin/sh\n{pip}exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    if installed:
        dev.install_stamp(path).touch()
    return path


def dev_env(venv_path: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    env.update(
        RT_DEV_VENV=str(venv_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'rt.db'}",
        RT_DATA_DIR=str(tmp_path / "data"),
        RT_SCHEDULER="off",
        RT_DEV_MAIL_PORT=str(free_port()),
        **extra,
    )
    return env


def process_state(pid: int) -> str | None:
    """The /proc state letter of ``pid``; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    return process_state(pid) not in (None, "Z", "X")  # a zombie has stopped running


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


# a wait, not a speed goal: a server that starts from nothing (imports, migrations) on a CI
# machine busy with two test workers and PostgreSQL has taken over 20 s
SERVER_START_SECONDS = 60


def wait_until(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def run_devpy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter and our dev.py
        [sys.executable, DEV_PY, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.fixture
def stop_leftovers() -> Iterator[list[int]]:
    """Pids to kill after the test if they are still running (a failed test leaves none)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


# --- the docs URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "environ", "url"),
    [
        ([], {}, "http://127.0.0.1:8000/docs"),
        ([], {"RT_HOST": "127.0.0.2", "RT_PORT": "9001"}, "http://127.0.0.2:9001/docs"),
        (["--port", "8123"], {"RT_PORT": "9001"}, "http://127.0.0.1:8123/docs"),
        (["--port=8123", "--host=127.0.0.3"], {"RT_HOST": "x"}, "http://127.0.0.3:8123/docs"),
        ([], {"RT_HOST": "0.0.0.0"}, "http://127.0.0.1:8000/docs"),  # noqa: S104 - all: use ours
        (["--host", "::1"], {}, "http://[::1]:8000/docs"),
    ],
)
def test_docs_url_names_the_host_and_port_the_server_will_use(
    args: list[str], environ: dict[str, str], url: str
) -> None:
    assert dev.docs_url(args, environ) == url


def test_the_first_install_says_how_long_it_takes(tmp_path: Path) -> None:
    assert "minutes" in dev.install_notice(tmp_path, first=True)


# --- one environment, installed once ------------------------------------------------------


def test_serve_and_test_share_one_environment_installed_once(tmp_path: Path) -> None:
    venv_path = fake_venv(tmp_path / "venv", installed=False, record_pip=True)
    env = dev_env(venv_path, tmp_path)

    first = run_devpy(env, "pytest", "--version")
    assert "installing the project and its dev tools" in first.stdout
    calls = (venv_path / "pip-calls").read_text().splitlines()
    assert "-m pip install -e .[dev]" in calls
    assert not any("--quiet" in call or " -q" in call for call in calls)  # pip shows progress
    assert dev.install_stamp(venv_path).exists()

    # serve (and test again) find it installed: nothing more is installed
    for command in (["serve", "--help"], ["pytest", "--version"]):
        again = run_devpy(env, *command)
        assert "installing" not in again.stdout
    assert (venv_path / "pip-calls").read_text().splitlines() == calls


# --- stopping what it started -------------------------------------------------------------


@needs_proc
@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_stopping_devpy_serve_stops_the_server(
    tmp_path: Path, stop_with: signal.Signals, stop_leftovers: list[int]
) -> None:
    port = free_port()
    output = tmp_path / "dev.out"
    # RT_PORT names another port: --port after `serve` wins, in the URL and in the server
    env = dev_env(fake_venv(tmp_path / "venv"), tmp_path, RT_PORT=str(free_port()))
    with output.open("wb") as sink:
        devpy = subprocess.Popen(  # noqa: S603 - our interpreter and our dev.py
            [sys.executable, DEV_PY, "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as if it were the terminal's: only our signal reaches it
        )
    stop_leftovers.append(devpy.pid)
    try:
        wait_until(lambda: len(children(devpy.pid)) == 2, 10, "dev.py to start its children")
        [server] = [pid for pid in children(devpy.pid) if " app serve" in command_line(pid)]
        [mail] = [pid for pid in children(devpy.pid) if " aiosmtpd " in command_line(pid)]
        stop_leftovers.extend([server, mail])
        healthy = f"http://127.0.0.1:{port}/healthz"
        wait_until(lambda: answers(healthy), SERVER_START_SECONDS, "/healthz")
        assert f"API docs: http://127.0.0.1:{port}/docs" in output.read_text()
        assert os.getpgid(server) == server != os.getpgid(devpy.pid)  # its own process group

        devpy.send_signal(stop_with)
        devpy.wait(timeout=dev.STOP_GRACE_SECONDS + 5)
        wait_until(lambda: not alive(server), 5, f"the server (pid {server}) to stop")
        wait_until(lambda: not alive(mail), 5, f"the mail sink (pid {mail}) to stop")
        assert not answers(f"http://127.0.0.1:{port}/healthz")
        # uvicorn stops cleanly; on SIGTERM it ends by re-raising the signal, and dev.py
        # reports that as a shell would (128 + 15)
        assert devpy.returncode in (0, 128 + signal.SIGTERM)
        assert "Shutting down" in output.read_text()
    finally:
        if devpy.poll() is None:
            devpy.kill()
            devpy.wait()


def start_serve(
    env: dict[str, str], port: int, output: Path, stop_leftovers: list[int]
) -> subprocess.Popen[bytes]:
    """``dev.py serve --port <port>`` in its own session (as a terminal's), output to a file."""
    with output.open("wb") as sink:
        devpy = subprocess.Popen(  # noqa: S603 - our interpreter and our dev.py
            [sys.executable, DEV_PY, "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stop_leftovers.append(devpy.pid)
    return devpy


@needs_proc
def test_devpy_serve_prints_a_supervisor_who_can_sign_in(
    tmp_path: Path, stop_leftovers: list[int]
) -> None:
    port = free_port()
    output = tmp_path / "dev.out"
    env = dev_env(fake_venv(tmp_path / "venv"), tmp_path)
    devpy = start_serve(env, port, output, stop_leftovers)
    try:
        healthy = f"http://127.0.0.1:{port}/healthz"
        wait_until(lambda: answers(healthy), SERVER_START_SECONDS, "/healthz")
    finally:
        devpy.send_signal(signal.SIGTERM)
        devpy.wait(timeout=dev.STOP_GRACE_SECONDS + 5)

    printed = re.search(
        r"development supervisor \(tenant 'default'\): (\S+), password (\S+)",
        output.read_text(),
    )
    assert printed is not None, output.read_text()
    assert output.read_text().index("supervisor") < output.read_text().index("API docs")
    database = Database(env["DATABASE_URL"])
    try:
        with database.unit_of_work() as session:
            signed_in = sign_in(
                session,
                settings=Settings(),
                email=printed[1],
                password=printed[2],
                client_address="127.0.0.1",
                now=datetime.now(UTC),
            )
            assert isinstance(signed_in, User)
            assert (signed_in.role, signed_in.email) == ("supervisor", dev.DEV_SUPERVISOR[0])
    finally:
        database.dispose()


@needs_proc
def test_devpy_serve_sends_customer_email_to_a_local_mailbox(
    tmp_path: Path, stop_leftovers: list[int]
) -> None:
    port = free_port()
    output = tmp_path / "dev.out"
    env = dev_env(fake_venv(tmp_path / "venv"), tmp_path)
    devpy = start_serve(env, port, output, stop_leftovers)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {dev.DEV_KEY}"}
    try:
        wait_until(lambda: answers(f"{base}/healthz"), SERVER_START_SECONDS, "/healthz")
        with httpx.Client(base_url=base, headers=auth, timeout=10) as api:
            parcel = api.post(
                "/v1/parcels",
                json={
                    "order_id": "SO-1",
                    "tracking_number": "SANDBOX-STALLED-0001",
                    "carrier": "sandbox",
                    "customer": {"email": "maria@example.com", "locale": "de-DE"},
                },
            ).json()
            incident = api.post(
                "/v1/incidents", json={"parcel_id": parcel["id"], "type": "delay"}
            ).json()
            sent = api.post(
                f"/v1/incidents/{incident['id']}/messages",
                json={"channel": "email", "text": "Ihr Paket ist unterwegs.", "send": True},
            )
            assert sent.json()["delivery"] == "queued", sent.text
            ran = api.post("/v1/admin/jobs/deliver-messages/run")
            assert ran.json()["counts"]["sent"] == 1, ran.text
    finally:
        devpy.send_signal(signal.SIGTERM)
        devpy.wait(timeout=dev.STOP_GRACE_SECONDS + 5)

    assert "a local mail sink" in output.read_text()
    [arrived] = (tmp_path / "data" / "mail" / "new").iterdir()
    assert b"To: maria@example.com" in arrived.read_bytes()


CHILD_IGNORING_SIGNALS = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("pids", os.getpid(), grandchild.pid, flush=True)
time.sleep(60)
"""


@needs_proc
def test_a_child_that_ignores_the_signal_is_killed_with_its_group_after_the_grace(
    tmp_path: Path, stop_leftovers: list[int]
) -> None:
    output = tmp_path / "supervise.out"
    supervisor_code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import dev; "
        f"sys.exit(dev.supervise([sys.executable, '-c', {CHILD_IGNORING_SIGNALS!r}], "
        "own_group=True, grace=1.0))"
    )
    with output.open("wb") as sink:
        supervisor = subprocess.Popen(  # noqa: S603 - our interpreter, our code
            [sys.executable, "-c", supervisor_code],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stop_leftovers.append(supervisor.pid)
    try:
        # the supervisor writes to the same file: find the child's line wherever it landed
        pids = re.compile(r"pids (\d+) (\d+)\n")
        wait_until(lambda: pids.search(output.read_text()) is not None, 10, "the child to start")
        found = pids.search(output.read_text())
        assert found is not None
        child, grandchild = int(found[1]), int(found[2])
        stop_leftovers.extend([child, grandchild])

        started = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 128 + signal.SIGKILL
        assert 1.0 <= time.monotonic() - started < 5
        wait_until(lambda: not alive(child) and not alive(grandchild), 5, "the group to go")
        assert "killing it" in output.read_text()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
