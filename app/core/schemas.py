"""API schemas shared by several areas, and the parcel schemas.

Inputs forbid unknown fields (a client cannot sneak in ``status`` or ``tenant_id``); countries,
currencies, phone numbers and e-mails are checked with pycountry, phonenumbers and
email-validator rather than by hand.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Generic, TypeVar, overload

import pycountry
from babel.numbers import get_currency_precision
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic_core import to_jsonable_python

T = TypeVar("T")


def _nul_at(value: object, path: str = "") -> str | None:
    """Where a NUL character hides in a request body (any depth, keys too), if anywhere."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    items: list[tuple[object, object]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        found = where if "\x00" in str(key) else _nul_at(item, where)
        if found is not None:
            return found
    return None


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: object) -> object:
        """PostgreSQL text cannot hold NUL (0x00): a 422 here, not a 500 at the INSERT."""
        if (where := _nul_at(data)) is not None:
            raise ValueError(f"{where}: must not contain NUL (\\x00) characters")
        return data


def _country(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _currency(value: str) -> str:
    code = value.upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


_LOCALE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|\d{3}))?$")


def _locale(value: str) -> str:
    match = _LOCALE.match(value)
    language = match.group(1).lower() if match else ""
    if not match or (
        pycountry.languages.get(alpha_2=language) is None
        and pycountry.languages.get(alpha_3=language) is None
    ):
        raise ValueError(f"{value!r} is not a locale such as 'en', 'de-DE' or 'pt-BR'")
    region = match.group(2)
    return f"{language}-{region.upper()}" if region else language


EARLIEST_YEAR, LATEST_YEAR = 1970, 2100
"""The years the API accepts in a time or a date: wide for any parcel, narrow enough that
converting to UTC or adding a claim window can never leave Python's datetime range."""
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_EXPECTED = "must be an ISO 8601 date and time with an offset, e.g. 2026-03-12T09:30:00Z"
_YEARS = f"must be within the years {EARLIEST_YEAR} to {LATEST_YEAR}"


def _iso_datetime_text(value: object) -> object:
    """Only ISO 8601 text (or, inside the process, a datetime): pydantic's lax parsing would
    read a number, or a numeric query string such as ``0.5``, as Unix time."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATETIME.match(value)):
        return value
    raise ValueError(_DATETIME_EXPECTED)


def _utc_within_years(value: datetime) -> datetime:
    """Checked as written and again in UTC: the year check first keeps ``astimezone`` from
    overflowing (``9999-12-31T23:59:59-14:00``), the second refuses a time it moves out."""
    if EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        utc = value.astimezone(UTC)
        if EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
            return utc
    raise ValueError(f"{_YEARS} (in UTC)")


def _iso_date_text(value: object) -> object:
    """Only ``YYYY-MM-DD`` (or a date): not a number read as Unix time, not a date-time."""
    if (isinstance(value, date) and not isinstance(value, datetime)) or (
        isinstance(value, str) and _ISO_DATE.fullmatch(value)
    ):
        return value
    raise ValueError("must be an ISO 8601 date, such as 2026-03-01")


def _date_within_years(value: date) -> date:
    if EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return value
    raise ValueError(_YEARS)


def minor_units(currency: str) -> int:
    """Digits after the decimal point of a currency (EUR 2, JPY 0, KWD 3), from CLDR via Babel."""
    return int(get_currency_precision(currency.upper()))


def money_amount(amount: Decimal, currency: str) -> Decimal:
    """The amount written with its currency's minor units: 59.9 EUR -> 59.90, 5990.000 JPY ->
    5990. Padding only: a digit that carries value (12.345 EUR) is never rounded away."""
    exponent = amount.normalize().as_tuple().exponent
    significant = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return amount.quantize(Decimal(1).scaleb(-max(minor_units(currency), significant)))


@overload
def money_text(amount: Decimal, currency: str | None) -> str: ...
@overload
def money_text(amount: Decimal | None, currency: str | None) -> str | None: ...
def money_text(amount: Decimal | None, currency: str | None) -> str | None:
    """How the API writes an amount: with its currency's minor units, or as stored without one.

    Models that hold an amount beside its currency use this in a ``field_serializer`` (the
    ``Money`` type alone cannot see the currency field).
    """
    if amount is None:
        return None
    return format(money_amount(amount, currency) if currency else amount, "f")


def _money_out(value: Decimal) -> str:
    return format(value, "f")


def iso_utc(moment: datetime) -> str:
    """A time as the API writes it: ISO 8601 in UTC with ``Z`` (``2026-03-12T09:30:00Z``)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return str(to_jsonable_python(aware))


def json_default(value: object) -> object:
    """``json.dumps(default=...)`` for stored JSON (timeline data, event payloads): times in
    the API's one ISO 8601 form, dates ISO, anything else (UUID, Decimal) as its text."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_datetime_text),
    AfterValidator(_utc_within_years),
    Field(examples=["2026-03-12T09:30:00Z"]),
]
"""The API's one input time, in bodies and query parameters alike: ISO 8601 with an offset,
years 1970 to 2100; stored and echoed in UTC."""
IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date_text),
    AfterValidator(_date_within_years),
    Field(examples=["2026-03-01"]),
]
"""The API's one input date: ``YYYY-MM-DD``, years 1970 to 2100."""
CountryCode = Annotated[str, AfterValidator(_country), Field(examples=["US"])]
CurrencyCode = Annotated[str, AfterValidator(_currency), Field(examples=["EUR"])]
Locale = Annotated[str, AfterValidator(_locale), Field(examples=["en-US"])]
Money = Annotated[Decimal, PlainSerializer(_money_out, return_type=str)]
"""An amount, written as stored; beside a currency field, serialise it with ``money_text``."""
TrackingNumber = Annotated[
    str,
    AfterValidator(
        lambda v: re.sub(r"[\s-]+", "", v).upper() if not v.startswith("SANDBOX") else v
    ),
    Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]*$"),
]
OrderId = Annotated[str, Field(min_length=1, max_length=100)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = Field(
        description="Pass as page_token for the next page; absent when this is the last page."
    )
