"""Model instances from a plain row, as the ORM would have loaded them, without a session.

``app.db.reads`` answers with tuples. A ``RowShape`` names, once, which tables' columns a
query selects and in which order; it then turns each row back into instances of the tables'
models, every value passed through the same result processing SQLAlchemy applies (our
``UTCDateTime`` and the dialect's own types), so code that builds a view from rows (an
``incident_view``) reads them as it reads loaded ones.

The instances are detached: they belong to no session, so nothing is lazily loaded from them
(a relationship the query did not fill reads as None) and nothing set on them is ever saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Column, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import attributes
from sqlmodel import SQLModel

_Processor = Callable[[Any], Any] | None
M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True, slots=True)
class _Part:
    model: type[SQLModel]
    keys: tuple[str, ...]  # the attribute each column loads into
    start: int  # where its columns begin in the row
    key_at: int  # where its primary key is among them


class RowShape:
    """The columns of ``models``' tables, in order, and how to load a row of them back."""

    def __init__(self, models: Sequence[type[SQLModel]], dialect: Dialect) -> None:
        parts: list[_Part] = []
        columns: list[Column[Any]] = []
        for model in models:
            properties = list(inspect(model).column_attrs)
            own = [prop.columns[0] for prop in properties]
            parts.append(
                _Part(
                    model=model,
                    keys=tuple(prop.key for prop in properties),
                    start=len(columns),
                    key_at=next(i for i, column in enumerate(own) if column.primary_key),
                )
            )
            columns.extend(own)
        self._parts = tuple(parts)
        self.columns: tuple[Column[Any], ...] = tuple(columns)
        self._dialect = dialect
        self._processors: dict[tuple[int, ...], tuple[_Processor, ...]] = {}

    def load(self, row: Sequence[Any], type_codes: tuple[int, ...]) -> list[SQLModel | None]:
        """One instance per model, in the order given; None for a model whose primary key
        came back NULL (the missing side of an outer join). ``type_codes`` are the columns'
        types as the database named them, which some of SQLAlchemy's processing needs."""
        processors = self._processors.get(type_codes)
        if processors is None:
            processors = self._processors[type_codes] = self._processors_for(type_codes)
        loaded: list[SQLModel | None] = []
        for part in self._parts:
            end = part.start + len(part.keys)
            values = row[part.start : end]
            if values[part.key_at] is None:
                loaded.append(None)
                continue
            loaded.append(_detached(part, values, processors[part.start : end]))
        return loaded

    def _processors_for(self, type_codes: tuple[int, ...]) -> tuple[_Processor, ...]:
        """Each column's result processing, as SQLAlchemy picks it for these types."""
        dialect = self._dialect
        return tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, code)
            for column, code in zip(self.columns, type_codes, strict=True)
        )


def detached_instance(model: type[M], values: Mapping[str, Any]) -> M:
    """An instance of ``model`` holding ``values`` as if loaded: no ``__init__`` (pydantic's
    per-field work), no change events, in no session. For a row just written by hand."""
    instance = attributes.manager_of_class(model).new_instance()
    # written straight into the instance's dict, as the ORM's loading does: no change events,
    # so the values read as loaded, not as edits
    attributes.instance_state(instance).dict.update(values)
    return instance


def _detached(part: _Part, values: Sequence[Any], processors: Sequence[_Processor]) -> SQLModel:
    return detached_instance(
        part.model,
        {
            key: (value if process is None else process(value))
            for key, process, value in zip(part.keys, processors, values, strict=True)
        },
    )
