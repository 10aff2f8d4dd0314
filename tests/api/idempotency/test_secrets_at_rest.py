"""Answers that carry a secret are stored encrypted: no table holds a secret in clear text."""

from __future__ import annotations

import pytest
from sqlalchemy import LargeBinary, String, Text, select

from app.core.settings import Settings
from app.db.engine import Database
from app.metadata import metadata
from tests.factories import ApiClient

ENDPOINTS = "/v1/webhook-endpoints"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Endpoints on this machine are allowed, as in the webhook tests."""
    return settings.model_copy(update={"webhook_allow_private_networks": True})


def stored_values(db: Database) -> list[tuple[str, bytes]]:
    """Every text and bytes value of every table (``table.column``, the bytes a backup holds)."""
    values: list[tuple[str, bytes]] = []
    with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary)]
            for row in conn.execute(select(*columns)) if columns else []:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str):
                        value = value.encode()
                    if isinstance(value, bytes | memoryview):
                        values.append((f"{table.name}.{column.name}", bytes(value)))
    return values


def columns_holding(db: Database, secret: str) -> list[str]:
    bare = secret.removeprefix("whsec_").encode()
    return [where for where, value in stored_values(db) if bare in value]


def test_a_new_endpoints_secret_is_not_stored_in_clear_yet_is_replayed(
    api: ApiClient, db: Database
) -> None:
    headers = {"Idempotency-Key": "helpdesk-subscription-1"}
    body = {"url": "https://127.0.0.1/hook", "description": "helpdesk"}

    created = api.post(ENDPOINTS, json=body, headers=headers)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")

    assert columns_holding(db, secret) == []
    again = api.post(ENDPOINTS, json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == created.content
    assert again.json()["secret"] == secret


def test_a_rotated_secret_is_not_stored_in_clear_either(api: ApiClient, db: Database) -> None:
    endpoint = api.post(ENDPOINTS, json={"url": "https://127.0.0.1/hook"}).json()
    url = f"{ENDPOINTS}/{endpoint['id']}/rotate-secret"
    headers = {"Idempotency-Key": "rotate-after-leak"}

    rotated = api.post(url, headers=headers)
    assert rotated.status_code == 200, rotated.text

    assert columns_holding(db, rotated.json()["secret"]) == []
    assert api.post(url, headers=headers).content == rotated.content
