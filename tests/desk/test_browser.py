"""The desk in a real browser (Debian's Chromium): an agent and a supervisor work a damaged
parcel from the customer's report to its resolution. Each step leaves a screenshot in
test-output/desk/<test>/; the README's pictures are taken here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from app.db.engine import Database
from tests.desk.browser_steps import report, sign_in, sign_out
from tests.desk.conftest import add_person
from tests.desk.images import small_png


def _image_width(page: Any, selector: str) -> int:
    """The loaded image's width (Playwright's wait_for_function evaluates a string, which
    the desk's CSP forbids; ``evaluate`` goes through the debugger, which it allows)."""
    for _ in range(50):
        width = page.evaluate(f"document.querySelector('{selector}').naturalWidth")
        if width:
            return int(width)
        page.wait_for_timeout(100)
    return 0


def test_an_agent_and_a_supervisor_work_a_damaged_parcel_in_the_browser(
    browser: Any, served: str, db: Database, screenshots: Path, tmp_path: Path
):
    add_person(db, email="anna@acme.example", name="Anna Agent")
    add_person(db, email="sven@acme.example", name="Sven Supervisor", role="supervisor")
    seeded = report(
        served,
        db,
        type="damaged",
        description="The box arrived crushed and the lamp inside is broken.",
    )
    number = seeded["incident"]["number"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    policy_errors: list[str] = []
    page.on(
        "console",
        lambda m: policy_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )

    sign_in(page, served, "anna@acme.example")
    assert page.locator("h1").inner_text() == "Queue"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.screenshot(path=screenshots / "01-queue.png", full_page=True)

    page.fill("#search", "SO-10023")
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/incidents/**")
    assert page.locator("h1").inner_text().startswith(number)
    page.screenshot(path=screenshots / "02-incident.png", full_page=True)

    page.click("button:text('Take it')")
    page.wait_for_selector("#row-h ~ dl >> text=Anna Agent <anna@acme.example>")
    assert page.locator("button:text('Take it')").count() == 0
    page.screenshot(path=screenshots / "02b-taken.png", full_page=True)

    page.select_option("#a-kind", "carrier_contacted")
    page.fill("#a-text", "Asked UPS for the depot's damage report")
    page.click("button:text('Log action')")
    page.wait_for_selector("text=Asked UPS for the depot's damage report")
    page.screenshot(path=screenshots / "03-action-logged.png", full_page=True)

    assert page.locator("#preview .preview").count() == 0
    page.select_option("#m-template", "in_transit_update")
    preview = page.locator("#preview .preview")
    preview.wait_for()
    assert "1Z999AA10123456784" in preview.inner_text()
    page.locator("#messages").screenshot(path=screenshots / "04-message-preview.png")
    page.click("button:text('Record as sent')")
    page.wait_for_selector("#timeline >> text=Message to customer")

    photo = tmp_path / "crushed-box.png"
    photo.write_bytes(small_png())
    page.set_input_files("#e-file", str(photo))
    page.fill("#e-desc", "Crushed corner")
    page.click("button:text('Upload')")
    page.locator("#evidence img").wait_for()
    assert _image_width(page, "#evidence img") == 24
    page.screenshot(path=screenshots / "05-photo-uploaded.png", full_page=True)

    page.select_option("#as-sub", "true")
    page.fill("#as-reason", "The photo shows the crushed box")
    page.click("button:text('Assess')")
    page.fill("#d-dep", "Logistics")
    page.click("button:text('Save department')")
    page.select_option("#rc", "packaging")
    page.click("button:text('Save root cause')")
    page.fill("#pr-sol", "Full refund of the lamp")
    page.select_option("#pr-kind", "refund")
    page.fill("#pr-amount", "59.90")
    page.fill("#pr-cur", "EUR")
    page.click("button:text('Propose')")
    page.wait_for_selector("text=Waiting for a supervisor's approval")
    assert page.locator("button:text('Approve')").count() == 0  # an agent has none
    page.screenshot(path=screenshots / "06-waiting-for-approval.png", full_page=True)
    incident_url = page.url.split("#")[0]
    sign_out(page)

    sign_in(page, served, "sven@acme.example")
    assert page.locator("text=Approvals waiting (1)").count() == 1
    page.goto(incident_url)
    page.fill("#dc-note", "The photo is clear")
    page.click("button:text('Approve')")
    page.wait_for_selector("text=Compensation approved by Sven Supervisor")
    page.screenshot(path=screenshots / "07-approved.png", full_page=True)
    sign_out(page)

    sign_in(page, served, "anna@acme.example")
    page.goto(incident_url)
    page.select_option("#ex-res", "refunded")
    page.fill("#ex-sum", "Refunded 59.90 EUR via PayPal")
    page.click("button:text('Execute and resolve')")
    page.wait_for_selector("h1 >> text=resolved")
    page.screenshot(path=screenshots / "08-resolved.png", full_page=True)

    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(f"{served}/desk/dashboard")
    page.screenshot(path=screenshots / "09-dashboard-tablet.png", full_page=True)
    assert policy_errors == []
    context.close()

    with httpx.Client(base_url=served, headers={"Authorization": f"Bearer {seeded['key']}"}) as api:
        items = api.get(f"/v1/incidents/{seeded['incident']['id']}/timeline").json()["items"]
    actors = {(i["kind"], i["actor"]["name"]) for i in items if i["item"] == "entry"}
    assert {i["actor"]["type"] for i in items if i["item"] == "entry"} >= {"user"}
    assert ("assigned", "Anna Agent") in actors
    assert ("carrier_contacted", "Anna Agent") in actors
    assert ("evidence_added", "Anna Agent") in actors or any(
        actor == "Anna Agent" and "evidence" in kind for kind, actor in actors
    )
    assert ("compensation_approved", "Sven Supervisor") in actors
    assert ("status_changed", "Anna Agent") in actors
