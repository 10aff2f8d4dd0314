"""One row as one INSERT on a connection of our own (``app.db.row_insert``): the same values
an ORM flush would send, and statements psycopg does not have to rewrite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.db.row_insert import NativeStatement, RowInsert, postgresql_dialect
from app.outbox.models import Event
from app.webhooks.models import WebhookDelivery


def test_a_serial_key_is_left_for_the_database_to_fill() -> None:
    insert = RowInsert(WebhookDelivery, postgresql_dialect())

    assert "(tenant_id, endpoint_id" in insert.sql
    assert "%(id)s" not in insert.sql


def test_values_go_through_their_columns_bind_processing() -> None:
    insert = RowInsert(Event, postgresql_dialect(), prefix="e_")
    berlin = datetime.fromisoformat("2026-03-12T10:30:00+01:00")
    values = {"id": uuid.uuid4(), "type": "incident.opened", "occurred_at": berlin}

    params = insert.params(values)

    assert params["e_occurred_at"] == datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
    assert params["e_payload"] is None  # a column the row does not give is sent as NULL
    with pytest.raises(ValueError, match="naive"):
        insert.params({**values, "occurred_at": datetime(2026, 3, 12, 9, 30)})


def test_named_placeholders_become_numbered_ones_once() -> None:
    statement = NativeStatement("SELECT %(a)s::UUID, %(b)s, %(a)s WHERE x LIKE 'y%%'")

    assert statement.sql == "SELECT $1::UUID, $2, $1 WHERE x LIKE 'y%'"
    assert statement.values({"b": 2, "a": 1, "unused": 3}) == [1, 2]


def test_a_placeholder_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        NativeStatement("SELECT %(a)s, %s")
