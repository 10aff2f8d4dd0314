"""The schema comes only from migrations; the models must agree with them exactly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from app.db.engine import Database
from app.db.migrate import current_revision, head_revision, upgrade_to_head
from app.db.tables import schema_objects_of
from app.metadata import metadata


def test_migrations_and_models_agree(db: Database) -> None:
    with db.engine.connect() as connection:
        opts = {"compare_type": True, "include_object": schema_objects_of(db.dialect)}
        context = MigrationContext.configure(connection, opts=opts)
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_database_is_at_head_and_upgrade_is_idempotent(db: Database) -> None:
    upgrade_to_head(db.engine)

    assert current_revision(db.engine) == head_revision() is not None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: no compression
def test_event_payloads_are_compressed_with_lz4_on_postgresql(db: Database) -> None:
    with db.engine.connect() as connection:
        method = connection.execute(
            text(
                "SELECT attcompression FROM pg_attribute "
                "WHERE attrelid = 'events'::regclass AND attname = 'payload'"
            )
        ).scalar_one()

    assert method == "l"  # lz4, where the server's default is pglz
