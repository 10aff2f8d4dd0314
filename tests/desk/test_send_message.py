"""An agent sends the customer a templated message by e-mail from the desk: it is queued as
the API's ``"send": true`` queues it, and the page shows its delivery; with sending off the
desk says so and offers only to record."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.settings import Settings
from tests.desk.conftest import DeskClient
from tests.factories import ApiClient, open_incident, register_parcel


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 2525})


def _incident(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    parcel = register_parcel(api, **overrides)
    answer = open_incident(api, parcel["id"], type="delay", description="Where is it?")
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_send_by_email_queues_the_message_in_the_customers_language(
    desk: DeskClient, api: ApiClient
) -> None:
    incident = _incident(api)
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    assert "Send by e-mail to maria.schmidt@example.com" in page

    sent = desk.post(
        f"/desk/incidents/{incident['id']}/messages",
        {
            "channel": "chat",  # the send button means e-mail, whatever the select said
            "template_key": "delay_notice",
            "param_delay_notice_reason": "peak_season",
            "send": "true",
        },
    )

    assert sent.status_code == 303, sent.text
    [message] = api.get(f"/v1/incidents/{incident['id']}/messages").json()["items"]
    assert (message["channel"], message["delivery"], message["language"]) == (
        "email",
        "queued",
        "de",
    )
    assert message["email_to"] == "maria.schmidt@example.com"
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    assert 'class="badge delivery-queued"' in page
    assert "E-mail to the customer queued" in page  # the timeline's entry


def test_without_an_address_the_desk_offers_only_to_record(
    desk: DeskClient, api: ApiClient
) -> None:
    incident = _incident(api, customer={"name": "Kim", "locale": "en-GB"})
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    assert "Send by e-mail" not in page
    assert "This customer has no e-mail address" in page


def test_a_notice_sent_before_the_incident_is_in_its_conversation(
    desk: DeskClient, api: ApiClient
) -> None:
    parcel = register_parcel(api)
    noticed = api.post(
        "/v1/notices",
        json={
            "filter": {"parcel_ids": [parcel["id"]]},
            "template_key": "holiday_suspension",
            "params": {
                "holiday_name": "Ostern",
                "from_date": "2026-04-03",
                "to_date": "2026-04-06",
            },
            "quiet_hours": False,
            "dry_run": False,
        },
    )
    assert noticed.status_code == 201, noticed.text
    incident = open_incident(api, parcel["id"], type="delay", description="Wo ist es?").json()

    page = desk.get(f"/desk/incidents/{incident['id']}").text

    assert "(notice before this incident)" in page
    assert "Ostern" in page
