"""A retry sent the moment the first answer arrives is replayed, byte for byte, over HTTP."""

from __future__ import annotations

import httpx

from app.db.engine import Database
from tests.factories import new_api_key, parcel_payload


def test_a_retry_the_moment_the_answer_arrives_is_replayed_never_409(
    served: str, db: Database
) -> None:
    key = new_api_key(db, tenant="acme", name="storefront")
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=served, headers=auth, timeout=10) as http:
        parcel = http.post("/v1/parcels", json=parcel_payload())
        assert parcel.status_code == 201, parcel.text
        body = {"type": "delay", "source": "customer", "parcel_id": parcel.json()["id"]}
        pairs = []
        for attempt in range(50):
            headers = {"Idempotency-Key": f"storefront-retry-{attempt}"}
            first = http.post("/v1/incidents", json=body, headers=headers)
            again = http.post("/v1/incidents", json=body, headers=headers)
            pairs.append((first, again))

    assert [first.status_code for first, _ in pairs] == [201] * 50
    assert [again.status_code for _, again in pairs].count(409) == 0
    assert all(again.content == first.content for first, again in pairs)
    assert all(again.headers["idempotent-replayed"] == "true" for _, again in pairs)
    assert all(again.headers["location"] == first.headers["location"] for first, again in pairs)
    assert len({first.json()["id"] for first, _ in pairs}) == 50
