"""In a real browser (Debian's Chromium): an admin reaches the people page from the menu, adds a
person with a generated password, and meets a refusal on the page itself. Screenshots go to
test-output/desk/<test>/, as tests/desk/test_browser.py's do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.db.engine import Database
from tests.desk.browser_steps import sign_in
from tests.desk.conftest import add_person


def test_an_admin_adds_a_person_and_hands_over_a_generated_password(
    browser: Any, served: str, db: Database, screenshots: Path
):
    add_person(db, email="ada@acme.example", name="Ada Admin", role="admin")
    add_person(db, email="anna@acme.example", name="Anna Agent")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    sign_in(page, served, "ada@acme.example")
    page.click("nav >> text=People")
    page.wait_for_url("**/desk/people")
    page.fill("#add-email", "bruno@acme.example")
    page.fill("#add-name", "Bruno Neu")
    page.select_option("#add-role", "supervisor")
    page.click("button:text('Add person')")
    shown = page.locator("#new-password code.secret").inner_text()
    assert len(shown) >= 20
    page.screenshot(path=screenshots / "01-person-added.png", full_page=True)

    page.fill("#add-email", "anna@acme.example")
    page.fill("#add-name", "Anna Again")
    page.fill("#add-password", "short")
    page.click("button:text('Add person')")
    error = page.locator("#add-error")
    assert "must be at least 12 characters" in error.inner_text()
    assert page.locator("#add-name").input_value() == "Anna Again"
    page.screenshot(path=screenshots / "02-refused-on-the-page.png", full_page=True)
    context.close()

    bruno = browser.new_context().new_page()
    bruno.goto(f"{served}/desk/login")
    bruno.fill("#email", "bruno@acme.example")
    bruno.fill("#password", shown)
    bruno.click("button:text('Sign in')")
    bruno.wait_for_url(f"{served}/desk/")
    assert bruno.locator("nav >> text=People").count() == 0  # a supervisor has no such link
    bruno.context.close()
