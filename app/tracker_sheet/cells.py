"""Reading tracker cells for import: typed values, errors collected per row and column.

Times: a CSV time needs an offset (``2026-03-12T09:30:00+00:00`` or ``Z``), a date alone
means 00:00 UTC; XLSX cells cannot hold an offset, so their times are read as UTC (which is
how the export writes them).

Every date and time must fall in the years 1970-2100 in UTC (``in_range``), the range the API
itself accepts; anything else, a time whose offset pushes it out of range included, is an error
naming the column.

Dates: ISO ``2026-04-03`` and year-first ``2026/04/03`` always; ``03/04/2026`` (or with ``.``
or ``-``) in the import's date order, ``dmy`` (3 April) or ``mdy`` (4 March); the ``iso`` order
refuses it. A date impossible in that order (``13/13/2026``) is an error naming the column;
nothing is guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from adapters import registry
from app.core.settings import DateOrder
from app.tracker_sheet import columns as sheet
from app.tracker_sheet.columns import undo_defuse
from app.tracker_sheet.errors import RowError

_EMAIL = re.compile(r"[^\s;,<>()]+@[^\s;,<>()]+\.[^\s;,<>()]+")
_TICKET_WORD = re.compile(r"^(?:ticket|ticket ref|ref)\s*[:#]?\s*", re.I)
_YEAR_FIRST = re.compile(r"^(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})(?P<rest>[ T].*)?$")
_YEAR_LAST = re.compile(r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4})(?P<rest>[ T].*)?$")
ORDER_WORDS: dict[DateOrder, str] = {
    "iso": "ISO 8601 (YYYY-MM-DD)",
    "dmy": "day/month/year",
    "mdy": "month/day/year",
}


FIRST_YEAR, LAST_YEAR = 1970, 2100
"""The years a time may have, in UTC: the API's own range (its datetime type), so an imported
row holds nothing the API would refuse, and no offset can push a time past what Python holds."""
OUT_OF_RANGE = f"is outside the years {FIRST_YEAR}-{LAST_YEAR} (in UTC) that a time may have"


def in_range(moment: datetime) -> datetime | None:
    """``moment`` (aware) in UTC, or None when it falls outside ``FIRST_YEAR``-``LAST_YEAR``,
    including when converting it to UTC overflows (``9999-12-31T23:59:59-14:00``)."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return None
    return utc if FIRST_YEAR <= utc.year <= LAST_YEAR else None


class Cells:
    """Typed reads of one row's cells that collect errors instead of raising."""

    def __init__(
        self,
        row: int,
        cells: dict[str, object],
        errors: list[RowError],
        *,
        date_order: DateOrder = "iso",
    ) -> None:
        self.row, self.cells, self.errors = row, cells, errors
        self.date_order = date_order

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
        """An aware UTC time within the years the service accepts (``in_range``), or None."""
        value = self.cells.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        moment = self._moment(column, value)
        if moment is None:
            return None
        utc = in_range(moment)
        if utc is None:
            self.fail(column, f"{str(value).strip()[:60]!r} {OUT_OF_RANGE}")
        return utc

    def _moment(self, column: str, value: object) -> datetime | None:
        if isinstance(value, datetime):  # an XLSX cell: UTC, as the export writes it
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=UTC)
        text = str(value).strip()
        iso = self._iso_date(column, text)
        if iso is None:
            return None
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
                return datetime.combine(date.fromisoformat(iso), time(), tzinfo=UTC)
            parsed = datetime.fromisoformat(iso.replace(" UTC", "+00:00"))
        except ValueError:
            self.fail(column, f"{text!r} is not a date or an ISO 8601 time")
            return None
        if parsed.tzinfo is None:
            self.fail(column, f"{text!r} has no offset; write it as {text}+00:00 (or Z for UTC)")
            return None
        return parsed

    def _iso_date(self, column: str, text: str) -> str | None:
        """The text with a slashed or dotted date written as ISO; None (and an error) when the
        date order cannot read it. Any other text is left for the ISO parser to judge."""
        if match := _YEAR_FIRST.match(text):
            day, month, year = match["d"], match["m"], match["y"]
            order: DateOrder | None = None
        elif match := _YEAR_LAST.match(text):
            if self.date_order == "iso":
                self.fail(
                    column,
                    f"{text!r} is not an ISO 8601 date (YYYY-MM-DD); to read day/month/year or "
                    "month/day/year dates, import with date_order=dmy or date_order=mdy",
                )
                return None
            order = self.date_order
            day, month = (match["a"], match["b"]) if order == "dmy" else (match["b"], match["a"])
            year = match["y"]
        else:
            return text
        try:
            moment = date(int(year), int(month), int(day))
        except ValueError:
            other: DateOrder = "mdy" if order == "dmy" else "dmy"
            hint = ""
            if order is not None and _valid(year, day, month):
                hint = f" (it is one in {ORDER_WORDS[other]}: import with date_order={other})"
            words = ORDER_WORDS[order] if order else "year/month/day"
            self.fail(column, f"{text!r} is not a date in {words} order{hint}")
            return None
        rest = (match["rest"] or " ")[1:].strip()  # after the date's " " or "T"
        return f"{moment.isoformat()}T{rest}" if rest else moment.isoformat()

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


def _valid(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


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
