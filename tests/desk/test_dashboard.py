"""The dashboard draws the reporting summary as SVG bars, each with its figures beside it."""

from __future__ import annotations

from app.desk.dashboard.charts import BAR_WIDTH, bars, hours, percent
from tests.desk.conftest import DeskClient
from tests.factories import UPS_NUMBERS, ApiClient, open_incident, register_parcel


def test_the_longest_bar_fills_the_width_and_the_others_scale():
    drawn = bars([("dhl", 0.5, "50 %"), ("ups", 0.25, "25 %"), ("ems", 0.0, "0 %")])
    assert [b.width for b in drawn] == [BAR_WIDTH, BAR_WIDTH / 2, 0.0]
    assert [b.y for b in drawn] == [4, 28, 52]
    assert all(b.width == 0 for b in bars([("a", 0.0, "0")]))


def test_figures_read_as_people_say_them():
    assert percent(0.1234) == "12.3 %"
    assert percent(None) == "—"
    assert hours(5400) == "1.5 h"
    assert hours(4 * 86400) == "4.0 d"


def test_the_dashboard_shows_charts_with_their_tables(desk: DeskClient, api: ApiClient, clock):
    parcel = register_parcel(api)
    open_incident(api, parcel["id"])
    register_parcel(api, order_id="SO-2", tracking_number=UPS_NUMBERS[1])
    clock.advance(hours=2)
    page = desk.get("/desk/dashboard")
    assert page.status_code == 200
    text = page.text
    for title in (
        "Stuck rate by carrier",
        "Stuck rate by lane",
        "Open incidents by age",
        "Detection lead time",
        "Time to first response and to resolution",
    ):
        assert title in text
    assert "<svg" in text
    assert "style=" not in text  # the CSP allows no inline style
    assert "CN → DE" in text
    assert '<td>under 1 day</td><td class="num">1</td>' in text
