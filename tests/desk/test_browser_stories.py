"""Two more parcels worked in a real browser (Debian's Chromium), from the customer's report to
the resolution: a delayed one an agent sees through with the carrier, and a lost one that
needs a supervisor's approval for its replacement. Each step leaves a screenshot in
test-output/desk/<test>/, and the API's timeline must name the person behind every step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.db.engine import Database
from tests.desk.browser_steps import in_order, report, sign_in, sign_out, timeline
from tests.desk.conftest import add_person

ANNA, SVEN = "Anna Agent", "Sven Supervisor"


def _people(db: Database) -> None:
    add_person(db, email="anna@acme.example", name=ANNA)
    add_person(db, email="sven@acme.example", name=SVEN, role="supervisor")


def _open_order(page: Any, number: str) -> None:
    """Anna finds the order with the search box, as she would with the customer on the line."""
    page.keyboard.press("/")
    page.fill("#search", "SO-10023")
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/incidents/**")
    assert page.locator("h1").inner_text().startswith(number)


def _log(page: Any, kind: str, text: str) -> None:
    page.select_option("#a-kind", kind)
    page.fill("#a-text", text)
    page.click("button:text('Log action')")
    page.wait_for_selector(f"#timeline >> text={text}")


def _compose(page: Any, template: str, fill_parameters: Callable[[], None]) -> None:
    """Choose the template, then give its parameters, waiting for each preview in turn: the
    composer asks for one on every change, and the story's steps never overlap requests."""
    page.select_option("#m-template", template)
    page.locator("#preview .error").wait_for()  # its required parameter is not given yet
    page.click("summary:text('Template parameters')")
    fill_parameters()
    page.locator("#preview .preview").wait_for()


def _type_date(page: Any) -> None:
    page.fill("#p-reshipment_promised-ship_by", "2026-03-16")
    page.keyboard.press("Tab")  # a text field reports its change when it loses focus


def _watch_policy(page: Any) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return errors


def test_an_agent_sees_a_delayed_parcel_through_with_the_carrier_in_the_browser(
    browser: Any, served: str, db: Database, screenshots: Path
):
    _people(db)
    seeded = report(
        served, db, type="delay", description="Ordered two weeks ago and still not here."
    )
    number = seeded["incident"]["number"]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    policy_errors = _watch_policy(page)

    sign_in(page, served, "anna@acme.example")
    _open_order(page, number)
    page.screenshot(path=screenshots / "01-delayed-incident.png", full_page=True)

    _log(page, "carrier_contacted", "Called UPS: the parcel is held for customs screening")
    page.fill("#n-action", "Ask UPS whether customs released it")
    page.fill("#n-due", "2026-03-16T12:00")
    page.click("button:text('Set next step')")
    page.wait_for_selector("dd >> text=Ask UPS whether customs released it")
    page.screenshot(path=screenshots / "02-next-step-set.png", full_page=True)

    assert page.locator("#m-language").input_value() == "de"  # Maria's locale is de-DE
    _compose(
        page,
        "delay_notice",
        lambda: page.select_option("#p-delay_notice-reason", "customs_screening"),
    )
    preview = page.locator("#preview .preview")
    assert "SO-10023" in preview.inner_text()
    assert "Zoll" in preview.inner_text()  # the customs reason, in German
    page.locator("#messages").screenshot(path=screenshots / "03-delay-notice-preview.png")
    page.click("button:text('Record as sent')")
    page.wait_for_selector("#timeline >> text=Message to customer")

    page.select_option("#s-to", "awaiting_carrier")
    page.click("button:text('Change status')")
    page.wait_for_selector("h1 >> text=awaiting carrier")
    incident_url = page.url.split("#")[0]
    page.goto(f"{served}/desk/?view=awaiting_carrier")
    assert page.locator(f"#list-h ~ * >> text={number}").count() == 1
    page.screenshot(path=screenshots / "04-awaiting-carrier-view.png", full_page=True)

    page.goto(incident_url)
    page.select_option("#s-to", "resolved")
    page.select_option("#s-resolution", "delivered")
    page.click("button:text('Change status')")
    page.wait_for_selector("h1 >> text=resolved")
    page.screenshot(path=screenshots / "05-delivered.png", full_page=True)
    assert policy_errors == []
    page.context.close()

    worked = in_order(
        timeline(served, seeded["key"], seeded["incident"]["id"]),
        [
            ("carrier_contacted", ANNA),
            ("next_step_set", ANNA),
            ("message_sent", ANNA),
            ("status_changed", ANNA),
            ("status_changed", ANNA),
        ],
    )
    assert "Ask UPS whether customs released it" in worked[1]["summary"]
    assert worked[2]["data"]["template_key"] == "delay_notice"
    assert [e["data"]["to"] for e in worked[3:]] == ["awaiting_carrier", "resolved"]
    assert worked[4]["data"]["resolution"] == "delivered"


def test_a_lost_parcel_is_reshipped_after_a_supervisor_approves_in_the_browser(
    browser: Any, served: str, db: Database, screenshots: Path
):
    _people(db)
    seeded = report(served, db, type="lost", description="Tracking has not moved for three weeks.")
    number = seeded["incident"]["number"]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    policy_errors = _watch_policy(page)

    sign_in(page, served, "anna@acme.example")
    _open_order(page, number)
    _log(page, "carrier_contacted", "UPS confirms the parcel is lost at the Leipzig hub")
    page.select_option("#as-sub", "true")
    page.fill("#as-reason", "The carrier confirms the loss")
    page.click("button:text('Assess')")
    page.fill("#d-dep", "Logistics")
    page.click("button:text('Save department')")
    page.select_option("#rc", "lost_by_carrier")
    page.click("button:text('Save root cause')")
    page.fill("#pr-sol", "Ship a replacement lamp")
    page.select_option("#pr-kind", "reshipment")  # worth the declared 59.90 EUR: over 50
    page.click("button:text('Propose')")
    page.wait_for_selector("text=Waiting for a supervisor's approval")
    assert page.locator("button:text('Approve')").count() == 0
    page.screenshot(path=screenshots / "01-reshipment-proposed.png", full_page=True)
    incident_url = page.url.split("#")[0]
    sign_out(page)

    sign_in(page, served, "sven@acme.example")
    assert page.locator("text=Approvals waiting (1)").count() == 1
    page.screenshot(path=screenshots / "02-supervisor-queue.png", full_page=True)
    page.goto(incident_url)
    page.fill("#dc-note", "Carrier confirmed the loss")
    page.click("button:text('Approve')")
    page.wait_for_selector(f"text=Compensation approved by {SVEN}")
    page.screenshot(path=screenshots / "03-approved.png", full_page=True)
    sign_out(page)

    sign_in(page, served, "anna@acme.example")
    page.goto(incident_url)
    _compose(page, "reshipment_promised", lambda: _type_date(page))
    assert "16. März 2026" in page.locator("#preview .preview").inner_text()  # in her language
    page.click("button:text('Record as sent')")
    page.wait_for_selector("#timeline >> text=Message to customer")
    page.select_option("#ex-res", "reshipped")
    page.fill("#ex-sum", "Replacement shipped with UPS 1Z12345E6712345677")
    page.click("button:text('Execute and resolve')")
    page.wait_for_selector("h1 >> text=resolved")
    page.screenshot(path=screenshots / "04-reshipped.png", full_page=True)
    assert policy_errors == []
    page.context.close()

    worked = in_order(
        timeline(served, seeded["key"], seeded["incident"]["id"]),
        [
            ("carrier_contacted", ANNA),
            ("assessed", ANNA),
            ("department_assigned", ANNA),
            ("root_cause_identified", ANNA),
            ("solution_proposed", ANNA),
            ("compensation_approved", SVEN),
            ("message_sent", ANNA),
            ("solution_executed", ANNA),
            ("status_changed", ANNA),
        ],
    )
    assert worked[-1]["data"]["resolution"] == "reshipped"
