"""In a real browser (Debian's Chromium): before the Spring Festival a supervisor tells the
customers of every sandbox parcel that shipping pauses. She fills the filter, chooses the
template (its fields come in by htmx), mistypes a date and is told on the page, previews the
counts and samples, confirms from the keyboard and follows the notice's progress.
Screenshots go to test-output/desk/<test>/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.settings import Settings
from app.db.engine import Database
from tests.desk.browser_steps import sign_in
from tests.desk.conftest import add_person
from tests.desk.notice_steps import six_customers
from tests.factories import ApiClient, FakeClock, new_api_key


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Sending on (the scheduler is off: the messages stay queued, nothing leaves)."""
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 2525})


def test_a_supervisor_previews_confirms_and_follows_a_holiday_notice(
    browser: Any, served: str, db: Database, clock: FakeClock, screenshots: Path
):
    add_person(db, email="sven@acme.example", name="Sven Supervisor", role="supervisor")
    key = new_api_key(db, tenant="acme", name="storefront")
    with httpx.Client(base_url=served) as http:
        six_customers(ApiClient(http, key), clock)  # type: ignore[arg-type]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    policy_errors: list[str] = []
    page.on(
        "console",
        lambda m: policy_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )

    sign_in(page, served, "sven@acme.example")
    page.click("nav >> text=Notify customers")
    page.wait_for_url("**/desk/notices")
    assert "No notice has been sent yet" in page.locator("#earlier").inner_text()
    page.select_option("#n-carrier", "sandbox")
    page.select_option("#n-template", "holiday_suspension")  # htmx brings its fields
    page.wait_for_selector("#p-holiday_suspension-holiday_name")
    page.fill("#p-holiday_suspension-holiday_name", "Spring Festival")
    page.fill("#p-holiday_suspension-from_date", "2026-02-14")
    page.fill("#p-holiday_suspension-to_date", "2026-02-04")  # a slip: before the first day
    assert page.locator("#n-quiet").is_checked()  # quiet hours unless she says otherwise
    page.screenshot(path=screenshots / "01-filter-and-template.png", full_page=True)

    page.click("button:text('Preview')")
    error = page.locator("#notice-error")
    assert "To date" in error.inner_text()
    assert "must not be before from_date" in error.inner_text()
    to_date = page.locator("#p-holiday_suspension-to_date")
    assert to_date.get_attribute("aria-invalid") == "true"
    assert page.locator("#n-carrier").input_value() == "sandbox"  # the rest kept as typed
    page.screenshot(path=screenshots / "02-refused-on-the-page.png", full_page=True)

    to_date.fill("2026-02-22")
    page.click("button:text('Preview')")
    page.wait_for_selector("#preview")
    counts = page.locator("#preview-counts").inner_text()
    assert "Parcels matched\n6" in counts
    assert "E-mails that would be sent\n4" in counts
    languages = page.locator("article.sample .badge").all_inner_texts()
    assert languages == ["de", "fr", "en"]
    assert "Hallo Jürgen Weiß," in page.locator("article.sample").first.inner_text()
    assert page.locator("#p-holiday_suspension-holiday_name").input_value() == "Spring Festival"
    page.locator("#preview").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "03-preview.png", full_page=True)

    page.focus("#send-button")  # confirmed from the keyboard
    assert page.locator("#send-button").inner_text() == "Send to 4 customers"
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/notices/*")
    progress = page.locator("#progress").inner_text()
    assert "2 of 6 messages done" in progress
    assert page.locator("[data-progress='queued']").inner_text() == "4"
    assert page.locator("[data-progress='not_sent']").inner_text() == "2"
    rows = page.locator("#messages tbody tr")
    assert rows.count() == 6
    assert "no e-mail address" in rows.nth(3).inner_text().lower()
    page.screenshot(path=screenshots / "04-notice-progress.png", full_page=True)

    page.click("a:text('← Notify customers')")
    page.wait_for_url("**/desk/notices")
    earlier = page.locator("#earlier tbody tr")
    assert earlier.count() == 1
    assert "Sven Supervisor" in earlier.first.inner_text()
    page.locator("#earlier").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "05-earlier-notices.png", full_page=True)
    assert policy_errors == []
    context.close()
