"""What the notice stories share: six customers of a Chinese shop in three languages (one
without an address, one who asked for no notices) and a UPS parcel outside the filter; the
holiday notice's form; and reading the preview's counts and confirm form back."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.factories import ApiClient, FakeClock, register_parcel
from tests.notify.customers import customer

SIX = (  # locale, destination, name, has an address, takes notices
    ("de-DE", "DE", "Jürgen Weiß", True, True),
    ("fr-FR", "FR", "Élodie Lefèvre", True, True),
    ("en-GB", "GB", "Oliver Smith", True, True),
    ("de-DE", "DE", "Karl Ohnemail", False, True),
    ("fr-FR", "FR", "Chloé Silence", True, False),
    ("en-GB", "GB", "Amelia Jones", True, True),
)
HOLIDAY_FORM = {
    "carrier": "sandbox",
    "template_key": "holiday_suspension",
    "param_holiday_suspension_holiday_name": "Spring Festival",
    "param_holiday_suspension_from_date": "2026-02-14",
    "param_holiday_suspension_to_date": "2026-02-22",
    "quiet_hours": "on",
}
_FORM = re.compile(r'<form[^>]*id="confirm-form"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def six_customers(api: ApiClient, clock: FakeClock) -> list[dict[str, Any]]:
    """The sandbox parcels SO-0001..SO-0006, registered through the API a minute apart (a
    notice meets them in that order), and one UPS parcel."""
    parcels = []
    for n, (locale, country, name, has_address, takes_notices) in enumerate(SIX, start=1):
        parcels.append(
            customer(
                api,
                n,
                locale=locale,
                country=country,
                name=name,
                email=has_address,
                proactive_notices=takes_notices,
            )
        )
        clock.advance(minutes=1)
    register_parcel(api)  # Maria's UPS parcel: not in a sandbox notice
    return parcels


def count_of(page: str, name: str) -> int:
    found = re.search(rf'data-count="{name}">(?:<strong>)?(\d+)<', page)
    assert found, f"the preview shows no {name} count"
    return int(found.group(1))


def confirm_form(page: str) -> dict[str, str]:
    """The confirm form's fields (CSRF token included), as the browser would send them."""
    found = _FORM.search(page)
    assert found, "the preview has no confirm form"
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(found.group(1))}
