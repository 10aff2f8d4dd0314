"""Many incidents naming the same new parcel at once: one parcel, every incident opened."""

from __future__ import annotations

import threading

import httpx
from sqlmodel import func, select

from app.db.engine import Database
from app.incidents.models import Incident
from app.parcels.models import Parcel
from tests.factories import UPS_NUMBERS, new_api_key


def test_concurrent_incidents_for_one_new_parcel_share_the_parcel(
    served: str, db: Database
) -> None:
    key = new_api_key(db, tenant="acme", name="storefront")
    body = {
        "type": "delay",
        "source": "customer",
        "order_id": "SO-20077",
        "tracking_number": UPS_NUMBERS[1],
        "carrier": "ups",
        "customer": {"name": "Ana Lima", "email": "ana.lima@example.com"},
    }
    barrier = threading.Barrier(20)
    answers: list[httpx.Response] = []

    def report() -> None:
        with httpx.Client(base_url=served, timeout=30) as http:
            barrier.wait()
            answers.append(
                http.post("/v1/incidents", json=body, headers={"Authorization": f"Bearer {key}"})
            )

    threads = [threading.Thread(target=report) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers][:3]
    assert len({a.json()["parcel_id"] for a in answers}) == 1
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Parcel)).one() == 1
        assert session.exec(select(func.count()).select_from(Incident)).one() == 20
