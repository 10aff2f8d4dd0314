"""RT_NOTICE_MAX_PARCELS: a notice to more parcels than that is refused whole."""

from __future__ import annotations

import pytest

from app.core.settings import Settings
from tests.factories import ApiClient
from tests.notify.customers import HOLIDAY, PEOPLE, customer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"notice_max_parcels": 3})


def test_a_filter_matching_more_than_the_limit_is_refused(api: ApiClient) -> None:
    for n, (locale, country, name) in enumerate(PEOPLE * 2):
        customer(api, n, locale=locale, country=country, name=name)

    response = api.post(
        "/v1/notices",
        json={
            "filter": {"carrier": "sandbox"},
            "template_key": "holiday_suspension",
            "params": HOLIDAY,
        },
    )

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "filter"
    assert "matches 6 parcels" in error["message"]
    assert "RT_NOTICE_MAX_PARCELS" in error["message"]
