"""The customer's wish for notices on the parcel: given at registration, changed later, read
back; and the one line a process logs about e-mail when it starts."""

from __future__ import annotations

from app.core.settings import Settings
from app.startup import email_sending
from tests.factories import UPS_NUMBERS, ApiClient, register_parcel
from tests.notify.helpers import customer


def test_a_customer_gets_notices_unless_the_seller_says_otherwise(api: ApiClient) -> None:
    default = register_parcel(api)
    opted_out = register_parcel(
        api,
        tracking_number=UPS_NUMBERS[1],
        customer=customer("jan@example.com", proactive_notices=False),
    )

    assert default["customer"]["proactive_notices"] is True
    assert opted_out["customer"]["proactive_notices"] is False
    assert api.get(f"/v1/parcels/{opted_out['id']}").json()["customer"] == {
        "name": "Maria Schmidt",
        "email": "jan@example.com",
        "phone": None,
        "locale": "de-DE",
        "ticket_ref": None,
        "proactive_notices": False,
    }


def test_an_unsubscribe_is_recorded_on_the_parcel_and_can_be_undone(api: ApiClient) -> None:
    parcel = register_parcel(api)
    url = f"/v1/parcels/{parcel['id']}"

    unsubscribed = api.patch(url, json={"customer": {"proactive_notices": False}})

    assert unsubscribed.status_code == 200, unsubscribed.text
    assert unsubscribed.json()["customer"]["proactive_notices"] is False
    assert api.get(url).json()["customer"]["proactive_notices"] is False
    assert api.patch(url, json={"customer": {}}).json()["customer"]["proactive_notices"] is False
    again = api.patch(url, json={"customer": {"proactive_notices": True}})
    assert again.json()["customer"]["proactive_notices"] is True


def test_a_bad_change_is_refused_naming_the_field(api: ApiClient, other_api: ApiClient) -> None:
    parcel = register_parcel(api)
    url = f"/v1/parcels/{parcel['id']}"

    wrong = api.patch(url, json={"customer": {"email": "new@example.com"}})
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["customer.email"]
    not_bool = api.patch(url, json={"customer": {"proactive_notices": "maybe"}})
    assert [e["field"] for e in not_bool.json()["errors"]] == ["customer.proactive_notices"]
    foreign = other_api.patch(url, json={"customer": {"proactive_notices": False}})
    assert foreign.status_code == 404
    assert api.get(url).json()["customer"]["proactive_notices"] is True


def test_a_process_says_at_start_whether_it_sends_e_mail() -> None:
    off = Settings(smtp_host=None)
    on = Settings(smtp_host="mail.internal", smtp_port=2525, smtp_password="never-logged")

    assert email_sending(off) == "e-mail sending off: RT_SMTP_HOST is not set"
    assert email_sending(on) == "e-mail via mail.internal:2525"
