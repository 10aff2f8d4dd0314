"""The Communication Summary: the seller's own words, then every message on a line of its own."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core.models import Tenant
from app.core.settings import Settings
from app.db.engine import Database
from app.incidents import queries as incident_queries
from app.tracker_sheet.columns import COLUMNS
from app.tracker_sheet.exporter import sheet_pages
from tests.factories import START, ApiClient, FakeClock, open_incident, register_parcel
from tests.statements import statements_sent
from tests.tracker_sheet.fixtures import read_csv

HOLIDAY = {"holiday_name": "Spring Festival", "from_date": "2026-02-14", "to_date": "2026-02-22"}
COMMUNICATION = COLUMNS.index("Communication Summary")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1"})


def _told(api: ApiClient, parcel_id: str) -> None:
    notice = api.post(
        "/v1/notices",
        json={
            "filter": {"parcel_ids": [parcel_id]},
            "template_key": "holiday_suspension",
            "params": HOLIDAY,
            "dry_run": False,
        },
    )
    assert notice.status_code == 201, notice.text


def _summary(api: ApiClient, incident_id: str, text: str) -> None:
    """The seller's own words, written on the incident."""
    url = f"/v1/incidents/{incident_id}"
    etag = api.get(url).headers["etag"]
    response = api.patch(url, json={"communication_summary": text}, headers={"If-Match": etag})
    assert response.status_code == 200, response.text


def _message(api: ApiClient, incident_id: str, **body: object) -> None:
    response = api.post(f"/v1/incidents/{incident_id}/messages", json=body)
    assert response.status_code == 201, response.text


def test_the_summary_lists_each_message_after_the_hand_written_words(
    api: ApiClient, clock: FakeClock
) -> None:
    parcel = register_parcel(api)
    _told(api, parcel["id"])  # 12 March, before any incident
    clock.advance(days=2)
    incident = open_incident(api, parcel["id"]).json()
    _summary(api, incident["id"], "Called Maria twice")
    clock.advance(hours=2)
    _message(api, incident["id"], channel="email", direction="in", text="Where is my parcel?")
    clock.advance(hours=1)
    _message(api, incident["id"], channel="email", template_key="delay_notice",
             params={"reason": "customs_screening"}, send=True)  # fmt: skip
    clock.advance(days=1)
    _message(api, incident["id"], channel="phone", text="Explained the customs hold",
             summary="Explained the customs hold")  # fmt: skip

    [row] = read_csv(api.get("/v1/incidents/export").content)

    assert row["Communication Summary"].split("\n") == [
        "Called Maria twice",
        "2026-03-12 → e-mail queued: Bestellung SO-10023: kurze Pause über die Feiertage "
        "(Spring Festival)",
        "2026-03-14 ← e-mail: Where is my parcel?",
        "2026-03-14 → e-mail queued: Ihre Bestellung SO-10023 verspätet sich: der Grund",
        "2026-03-15 → phone: Explained the customs hold",
    ]


def test_without_messages_the_cell_is_what_the_seller_wrote(api: ApiClient) -> None:
    parcel = register_parcel(api)
    _summary(api, open_incident(api, parcel["id"]).json()["id"], "Left a voicemail")
    bare = register_parcel(api, tracking_number="1Z12345E6712345677", order_id="SO-2")
    open_incident(api, bare["id"])

    rows = {r["Order ID"]: r for r in read_csv(api.get("/v1/incidents/export").content)}

    assert rows["SO-10023"]["Communication Summary"] == "Left a voicemail"
    assert rows["SO-2"]["Communication Summary"] == ""


def test_messages_are_read_once_per_page_not_per_row(api: ApiClient, db: Database) -> None:
    for n in range(4):
        parcel = register_parcel(api, order_id=f"SO-{n}", tracking_number=f"SANDBOX-A-{n}")
        _told(api, parcel["id"])
        open_incident(api, parcel["id"])
    with db.session() as session:
        [tenant] = session.exec(select(Tenant)).all()

    with statements_sent(db, containing="FROM customer_messages") as seen:
        pages = list(
            sheet_pages(
                db,
                tenant_id=tenant.id,
                filters=incident_queries.IncidentFilters(),
                now=START,
                page_size=2,
            )
        )

    assert len(seen) == 2  # two pages of two incidents
    cells = [str(row.values[COMMUNICATION]) for page in pages for row in page]
    assert all(cell.startswith("2026-03-12 → e-mail queued: ") for cell in cells)
