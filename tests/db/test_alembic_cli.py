"""The ``alembic`` command works from the repository root, as Alembic's users expect.

``alembic upgrade head``, ``alembic current`` and ``alembic revision --autogenerate`` read the
root ``alembic.ini`` and run the same ``alembic/env.py`` as ``python -m app migrate``, against
``DATABASE_URL``. Real subprocesses, on a fresh SQLite file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.db.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]


SCRIPT = Path(sys.executable).parent / "alembic"  # the console script pip installed


def alembic(
    *args: str, cwd: Path, database_url: str, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``alembic <args>`` as a user types it: the console script, no PYTHONPATH of ours unless
    asked (alembic.ini's ``prepend_sys_path`` puts the checkout first)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["DATABASE_URL"] = database_url
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "alembic"]
    return subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        [*command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'alembic-cli.db'}"


def test_upgrade_current_and_check_from_the_repository_root(sqlite_url: str) -> None:
    head = head_revision()
    assert head is not None

    upgraded = alembic("upgrade", "head", cwd=ROOT, database_url=sqlite_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"-> {head}" in upgraded.stderr  # alembic.ini's logging: alembic's INFO lines

    current = alembic("current", cwd=ROOT, database_url=sqlite_url)
    assert current.returncode == 0, current.stderr
    assert f"{head} (head)" in current.stdout

    # `alembic check` autogenerates without writing a file: the models match the migrations
    checked = alembic("check", cwd=ROOT, database_url=sqlite_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_autogenerate_against_a_migrated_database_writes_an_empty_migration(
    sqlite_url: str, tmp_path: Path
) -> None:
    # A copy of the root's alembic.ini and alembic/: a generated file in the real versions/
    # would be a second head for every test running beside this one.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(ROOT / "alembic.ini", checkout / "alembic.ini")
    shutil.copytree(ROOT / "alembic", checkout / "alembic", ignore=shutil.ignore_patterns("*.pyc"))
    before = set((checkout / "alembic" / "versions").glob("*.py"))
    upgraded = alembic("upgrade", "head", cwd=checkout, database_url=sqlite_url, pythonpath=ROOT)
    assert upgraded.returncode == 0, upgraded.stderr

    generated = alembic(
        *("revision", "--autogenerate", "-m", "nothing changed"),
        cwd=checkout,
        database_url=sqlite_url,
        pythonpath=ROOT,
    )

    assert generated.returncode == 0, generated.stderr
    [new_file] = set((checkout / "alembic" / "versions").glob("*.py")) - before
    try:
        assert new_file.name.endswith("_nothing_changed.py")  # file_template: <rev>_<slug>
        source = new_file.read_text()
        assert f"down_revision: str | None = {head_revision()!r}" in source
        upgrade = source.split("def upgrade() -> None:")[1].split("def downgrade")[0]
        statements = [line.strip() for line in upgrade.splitlines() if line.strip()]
        assert [s for s in statements if not s.startswith("#")] == ["pass"]  # no operations
        assert "op." not in source
    finally:
        new_file.unlink()
