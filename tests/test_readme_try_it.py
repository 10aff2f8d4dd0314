"""README "Try it" runs as pasted: only curl and python3, every variable it reads is set in it
(the port from ``RT_PORT``), and pasted into ``sh -e`` against the service it succeeds."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.factories import FakeClock

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
DEV_KEY = "rt_dev_local_only_change_me"


def try_it() -> str:
    section = README[README.index("### Try it") : README.index("## The API in brief")]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, "the Try it section has no sh block"
    return match.group(1)


def commands(block: str) -> list[str]:
    """The block's commands: single-quoted text blanked (the shell expands nothing in it, and
    it may span lines), continuation lines joined, comments dropped."""
    unquoted = re.sub(r"'[^']*'", "''", block)
    joined = re.sub(r"\\\n", " ", unquoted)
    return [line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#"]


def test_every_variable_the_block_reads_is_set_earlier_in_it() -> None:
    assigned: set[str] = set()
    for command in commands(try_it()):
        used = set(re.findall(r"\$\{?([A-Za-z_]\w*)(?!\w)(?!:-)", command))
        with_default = set(re.findall(r"\$\{([A-Za-z_]\w*):-", command))
        assert used <= assigned, f"{sorted(used - assigned)} read before being set: {command}"
        assert with_default <= {"RT_PORT"}, command
        if match := re.match(r"^([A-Za-z_]\w*)=", command):
            assigned.add(match.group(1))


def test_the_port_is_rt_port_with_the_services_default() -> None:
    block = try_it()

    assert f"${{RT_PORT:-{Settings.model_fields['port'].default}}}" in block
    assert "localhost:8000" not in block
    assert "127.0.0.1:8000" not in block


def test_it_needs_only_curl_and_python() -> None:
    programs = set()
    for command in commands(try_it()):
        command = re.sub(r"^\w+\(\)\s*\{", "", command)  # a helper function: look inside it
        command = re.sub(r"\$\{[^}]*\}", "", command)  # ${RT_PORT:-8000}
        for part in re.split(r"\$\(|\||;|\)", command):
            words = [w for w in part.split() if not re.match(r"^[A-Za-z_]\w*=", w)]
            if words and words[0] not in ("}", ")"):
                programs.add(words[0])

    assert programs <= {"curl", "python3", "rt_id"}, programs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(db: Database, clock: FakeClock, settings: Settings) -> Iterator[int]:
    """The service on a real port, with the development key ``dev.py serve`` creates."""
    configured = settings.model_copy(update={"bootstrap_api_key": SecretStr(DEV_KEY)})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(configured, database=db, clock=clock),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in 20 s"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def json_documents(text: str) -> list[Any]:
    decoder, documents, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
    return documents


@pytest.mark.skipif(shutil.which("curl") is None, reason="the Try it block needs curl")
def test_the_block_runs_as_pasted(served: int, tmp_path: Path) -> None:
    script = tmp_path / "try_it.sh"
    script.write_text(try_it())

    ran = subprocess.run(  # noqa: S603 - our README, run as a reader would paste it
        ["sh", "-e", str(script)],  # noqa: S607
        env={"PATH": os.environ["PATH"], "RT_PORT": str(served)},  # nothing else of ours
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (ran.returncode, ran.stderr) == (0, "")
    parcel, action, resolved, timeline, verdict = json_documents(ran.stdout)
    assert (parcel["order_id"], parcel["declared_value"]) == ("SO-10023", "59.90")
    assert action["kind"] == "carrier_contacted"
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "delivered")
    assert [i["kind"] for i in timeline["items"]] == [
        "opened",
        "carrier_contacted",
        "status_changed",
    ]
    assert (verdict["valid"], verdict["entries"]) == (True, 3)
