"""In a real browser (Debian's Chromium): an agent claims a lost parcel's value from the carrier
and records it filed, approved and paid. Each step leaves a screenshot in
test-output/desk/<test>/, as tests/desk/test_browser.py does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from app.db.engine import Database
from tests.desk.browser_steps import report, sign_in
from tests.desk.conftest import add_person


def test_an_agent_claims_a_lost_parcel_from_the_carrier_until_it_is_paid(
    browser: Any, served: str, db: Database, screenshots: Path
):
    add_person(db, email="anna@acme.example", name="Anna Agent")
    seeded = report(
        served, db, type="lost", description="No scan for three weeks; the customer never got it."
    )
    incident, key = seeded["incident"], seeded["key"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    policy_errors: list[str] = []
    page.on(
        "console",
        lambda m: policy_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )

    sign_in(page, served, "anna@acme.example")
    page.goto(f"{served}/desk/incidents/{incident['id']}#claims")
    claims = page.locator("#claims")
    assert claims.locator("#cl-type").input_value() == "lost"  # from the incident's type
    assert claims.locator("#cl-amount").input_value() == "59.90"  # the declared value
    page.fill("#cl-desc", "Parcel lost in transit: no scan since the export hub.")
    page.click("button:text('Draft claim')")
    page.wait_for_selector("#claims [data-status='draft']")
    assert "File by" in claims.inner_text()
    claims.screenshot(path=screenshots / "01-claim-drafted.png")

    page.fill("#claims input[name='carrier_reference']", "UPS-CLM-55120")
    page.click("button:text('Mark filed')")
    page.wait_for_selector("#claims [data-status='filed']")
    assert "reference UPS-CLM-55120" in claims.inner_text()
    claims.screenshot(path=screenshots / "02-claim-filed.png")

    page.click("button:text('Approved in full')")
    page.wait_for_selector("#claims [data-status='approved']")
    page.click("button:text('Mark paid')")
    page.wait_for_selector("#claims [data-status='paid']")
    assert "59.90 EUR" in claims.locator("dl").inner_text()
    assert claims.locator("form.claim-move").count() == 0  # a paid claim has no moves left
    page.screenshot(path=screenshots / "03-claim-paid.png", full_page=True)
    assert policy_errors == []
    context.close()

    with httpx.Client(base_url=served, headers={"Authorization": f"Bearer {key}"}) as api:
        items = api.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
    claim_entries = [
        (i["kind"], i["actor"]["name"])
        for i in items
        if i["item"] == "entry" and "claim" in i["kind"]
    ]
    assert claim_entries == [
        ("claim_created", "Anna Agent"),
        ("claim_filed", "Anna Agent"),
        ("claim_approved", "Anna Agent"),
        ("claim_paid", "Anna Agent"),
    ]
