"""Alembic environment: migrations run against DATABASE_URL, or a connection handed in.

Two ways in, one environment: ``alembic ...`` from the repository root (``alembic.ini``, whose
logging sections apply), and ``app.db.migrate`` (start-up, ``python -m app migrate``, tests),
which passes its connection and leaves logging to the process.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel.sql.sqltypes import AutoString

from app.core.settings import get_settings
from app.db.tables import schema_objects_of
from app.db.types import UTCDateTime
from app.metadata import metadata

target_metadata = metadata

if context.config.config_file_name is not None:  # the alembic command line
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our portable column types as the plain SQLAlchemy types they wrap."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=schema_objects_of(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
run_migrations_online()
