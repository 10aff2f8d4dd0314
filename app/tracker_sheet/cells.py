"""Reading tracker cells for import: typed values, errors collected per row and column.

Times: a CSV time needs an offset (``2026-03-12T09:30:00+00:00`` or ``Z``), a date alone
means 00:00 UTC; XLSX cells cannot hold an offset, so their times are read as UTC (which is
how the export writes them).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from adapters import registry
from app.tracker_sheet import columns as sheet
from app.tracker_sheet.columns import undo_defuse
from app.tracker_sheet.reader import RowError

_EMAIL = re.compile(r"[^\s;,<>()]+@[^\s;,<>()]+\.[^\s;,<>()]+")
_TICKET_WORD = re.compile(r"^(?:ticket|ticket ref|ref)\s*[:#]?\s*", re.I)


class Cells:
    """Typed reads of one row's cells that collect errors instead of raising."""

    def __init__(self, row: int, cells: dict[str, object], errors: list[RowError]) -> None:
        self.row, self.cells, self.errors = row, cells, errors

    def fail(self, column: str, reason: str) -> None:
        self.errors.append(RowError(row=self.row, column=column, reason=reason))

    def text(self, column: str, max_length: int | None = None) -> str | None:
        value = self.cells.get(column)
        if value is None:
            return None
        text = undo_defuse((value.isoformat() if isinstance(value, date) else str(value)).strip())
        if "\x00" in text:
            self.fail(column, "contains a NUL character")
            return None
        if max_length is not None and len(text) > max_length:
            self.fail(column, f"longer than {max_length} characters")
            return None
        return text or None

    def choice(self, column: str, allowed: tuple[str, ...], default: str) -> str:
        text = self.text(column)
        if text is None:
            return default
        code = re.sub(r"[\s-]+", "_", text.lower())
        if code not in allowed:
            self.fail(column, f"{text!r} is not one of {', '.join(allowed)}")
            return default
        return code

    def when(self, column: str) -> datetime | None:
        value = self.cells.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, datetime):  # an XLSX cell: UTC, as the export writes it
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=UTC)
        text = str(value).strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            parsed = datetime.fromisoformat(text.replace(" UTC", "+00:00"))
        except ValueError:
            self.fail(column, f"{text!r} is not a date or an ISO 8601 time")
            return None
        if parsed.tzinfo is None:
            self.fail(column, f"{text!r} has no offset; write it as {text}+00:00 (or Z for UTC)")
            return None
        return parsed.astimezone(UTC)

    def day(self, column: str) -> date | None:
        moment = self.when(column)
        return moment.date() if moment else None

    def decimal(self, column: str) -> Decimal | None:
        value = self.cells.get(column)
        if value is None or str(value).strip() == "":
            return None
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(column, f"{value!r} is not a number")
            return None

    def yes_no(self, column: str) -> bool | None:
        text = (self.text(column) or "").lower()
        if not text:
            return None
        if text in ("yes", "y", "true", "1"):
            return True
        if text in ("no", "n", "false", "0"):
            return False
        self.fail(column, f"{text!r} is not Yes or No")
        return None


def carrier_code(name: str) -> str | None:
    """A carrier by its code or its display name ("UPS", "China Post"), any case."""
    wanted = re.sub(r"[\s_-]+", "", name.lower())
    for code, adapter in registry.ADAPTERS.items():
        if wanted in (re.sub(r"[\s_-]+", "", code), re.sub(r"[\s_-]+", "", adapter.name.lower())):
            return code
    return None


def split_contact(text: str | None) -> tuple[str | None, str | None]:
    """ "maria@example.com; ticket ZD-4411" -> (e-mail, ticket reference); either may be absent."""
    if not text:
        return None, None
    match = _EMAIL.search(text)
    email = match.group(0) if match else None
    rest = _EMAIL.sub("", text) if match else text
    ticket = _TICKET_WORD.sub("", rest.strip(" ;,/|-")).strip(" ;,/|-")
    return email, ticket or None


def split_location(text: str) -> tuple[str, str | None, str | None]:
    """ "Arrived — Leipzig, DE" -> (description, city, country)."""
    description, separator, place = text.rpartition(sheet.LOCATION_SEPARATOR)
    if not separator:
        return text, None, None
    city, _, country = place.rpartition(", ")
    if len(country) == 2 and country.isalpha():
        return description, city or None, country.upper()
    return description, place or None, None


def schema_errors(
    cells: Cells, exc: ValidationError, columns: dict[str, str], fallback: str
) -> None:
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        named = re.match(r"^([A-Za-z_][\w.]*): (.*)$", message)
        if named:
            where, message = named.group(1), named.group(2)
        cells.fail(columns.get(where, fallback), message)


def validated(
    model: type[BaseModel], data: dict[str, Any], cells: Cells, columns: dict[str, str]
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        schema_errors(cells, exc, columns, next(iter(columns.values())))
        return None
