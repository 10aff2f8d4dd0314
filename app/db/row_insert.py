"""One model instance as one ``INSERT`` on a psycopg connection of our own (``app.db.reads``).

The ORM's flush costs about a millisecond for the three rows an incident opens with: its unit
of work sorts them, builds each statement's parameters through its machinery, and autoflushes
before every query that follows. A ``RowInsert`` compiles the table's INSERT once, with the
dialect's own casts, and sends the instance's column values through the same bind processing
SQLAlchemy applies (``UTCDateTime`` refuses naive times and converts to UTC). A serial key is
left out, for the database to fill, as the ORM leaves it out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Table, bindparam, insert, inspect
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import Dialect
from sqlmodel import SQLModel

_Processor = Callable[[Any], Any] | None


@functools.cache
def postgresql_dialect() -> Dialect:
    """The dialect our engine uses on PostgreSQL (psycopg 3), for statements compiled once."""
    return PGDialect_psycopg()  # type: ignore[no-untyped-call]


class RowInsert:
    """``INSERT INTO <model's table> (...) VALUES (...)`` for one instance of ``model``."""

    def __init__(self, model: type[SQLModel], dialect: Dialect, *, prefix: str = "") -> None:
        """``prefix``: put before each parameter's name, so that several statements can be
        sent as one (``WITH a AS (INSERT ...) INSERT ...``) without their names clashing."""
        table = model.__table__  # type: ignore[attr-defined]
        assert isinstance(table, Table)
        serial = table.autoincrement_column
        columns = [
            (prop.key, prop.columns[0])
            for prop in inspect(model).column_attrs
            if prop.columns[0] is not serial
        ]
        self._columns: tuple[tuple[str, str, _Processor], ...] = tuple(
            (key, prefix + column.name, column.type.dialect_impl(dialect).bind_processor(dialect))
            for key, column in columns
        )
        statement = insert(table).values(
            {
                column.name: bindparam(prefix + column.name, type_=column.type)
                for _, column in columns
            }
        )
        self.sql = str(statement.compile(dialect=dialect))

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """An instance's values (its ``__dict__``, or a row of ``chained_values``) as the
        statement's parameters, each bind-processed."""
        return {
            name: (value if process is None or value is None else process(value))
            for key, name, process in self._columns
            for value in (values.get(key),)
        }


class NativeStatement:
    """A statement's ``%(name)s`` placeholders as PostgreSQL's own ``$1, $2, ...``, worked out
    once, for psycopg's raw cursor (``AsyncRawCursor``), which sends the text as it is.

    psycopg rewrites a statement's placeholders on every execution unless the statement is
    short and has at most 50 parameters (``psycopg._queries.MAX_CACHED_STATEMENT_PARAMS``); an
    incident, its entry and its event in one statement have 53, and the rewriting (a regular
    expression over the whole text) cost about a tenth of the opening's CPU.
    """

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        self.sql = _NAMED.sub(number, sql)
        self.names = tuple(names)
        if "%" in self.sql.replace("%%", ""):
            raise ValueError("a placeholder that is not %(name)s is left in the statement")
        self.sql = self.sql.replace("%%", "%")

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


_NAMED = re.compile(r"%\((\w+)\)s")
