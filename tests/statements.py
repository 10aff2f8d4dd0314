"""What a block of code sent to the database through the ORM's engine (for tests that count
statements or check that none went that way)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.db.engine import Database


@contextmanager
def statements_sent(db: Database, *, containing: str | None = None) -> Iterator[list[str]]:
    """Every statement sent while the block runs (those holding ``containing``, if given)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if containing is None or containing in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
