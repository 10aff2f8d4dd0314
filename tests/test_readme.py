"""The README is part of the contract: every setting is listed with its default."""

from __future__ import annotations

from pathlib import Path

from app.core.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_service_setting_is_documented() -> None:
    for name in Settings.model_fields:
        variable = "DATABASE_URL" if name == "database_url" else f"RT_{name.upper()}"
        assert f"| `{variable}` |" in README, f"{variable} is missing from the README settings"


def test_the_two_commands_are_in_the_readme() -> None:
    assert "python3 dev.py serve" in README
    assert "python3 dev.py test" in README
