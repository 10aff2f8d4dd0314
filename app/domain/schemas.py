"""API schemas shared by several areas, and the parcel schemas.

Inputs forbid unknown fields (a client cannot sneak in ``status`` or ``tenant_id``); countries,
currencies, phone numbers and e-mails are checked with pycountry, phonenumbers and
email-validator rather than by hand.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, Self, TypeVar

import phonenumbers
import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    model_validator,
)

from adapters.base import ScanStatus

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


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _money_out(value: Decimal) -> str:
    return format(value.normalize(), "f")


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An input time that must carry an offset; stored and echoed in UTC."""
CountryCode = Annotated[str, AfterValidator(_country), Field(examples=["US"])]
CurrencyCode = Annotated[str, AfterValidator(_currency), Field(examples=["EUR"])]
Locale = Annotated[str, AfterValidator(_locale), Field(examples=["en-US"])]
Money = Annotated[Decimal, PlainSerializer(_money_out, return_type=str)]
TrackingNumber = Annotated[
    str,
    AfterValidator(
        lambda v: re.sub(r"[\s-]+", "", v).upper() if not v.startswith("SANDBOX") else v
    ),
    Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]*$"),
]
OrderId = Annotated[str, Field(min_length=1, max_length=100)]


class Customer(InputModel):
    """The customer to write to; the phone is stored in E.164."""

    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    locale: Locale | None = None
    ticket_ref: str | None = Field(default=None, max_length=100)


def normalise_phone(raw: str, region: str | None) -> str:
    """E.164 form; a national number needs the destination country as its region."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"customer.phone: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"customer.phone: {raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class ParcelCreate(InputModel):
    order_id: OrderId
    order_date: date | None = None
    tracking_number: TrackingNumber
    carrier: str | None = Field(
        default=None, description="Carrier code; detected from the tracking number when omitted."
    )
    customer: Customer | None = None
    origin_country: CountryCode | None = None
    destination_country: CountryCode | None = None
    shipped_at: UtcDatetime | None = None
    declared_value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=3)
    currency: CurrencyCode | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.declared_value is not None and self.currency is None:
            raise ValueError("currency: required when declared_value is given")
        if self.customer and self.customer.phone:
            self.customer.phone = normalise_phone(self.customer.phone, self.destination_country)
        return self


class Location(InputModel):
    city: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=32)
    country: CountryCode | None = None


class LocationRead(BaseModel):
    """A location as the carrier gave it (not re-validated: it is the carrier's record)."""

    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class LastScanRead(BaseModel):
    status: ScanStatus
    description: str | None
    occurred_at: datetime
    location: LocationRead


class CustomerRead(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    locale: str | None
    ticket_ref: str | None


class ParcelRead(BaseModel):
    id: uuid.UUID
    carrier: str
    tracking_number: str
    tracking_url: str
    sandbox: bool = Field(description="True for the sandbox test carrier: not a real shipment.")
    order_id: str
    order_date: date | None
    customer: CustomerRead
    origin_country: str | None
    destination_country: str | None
    shipped_at: datetime | None
    declared_value: Money | None
    currency: str | None
    status: ScanStatus
    last_scan_at: datetime | None
    last_scan: LastScanRead | None
    last_polled_at: datetime | None
    last_poll_error: str | None
    next_poll_at: datetime | None = Field(
        description="When the scheduler polls the carrier next; null once tracking stopped."
    )
    created_at: datetime
    updated_at: datetime


class ScanCreate(InputModel):
    """A scan pushed in normalised form (e.g. from a storefront's own carrier integration)."""

    status: ScanStatus
    occurred_at: UtcDatetime
    description: str = Field(min_length=1, max_length=500)
    location: Location = Field(default_factory=Location)
    raw_code: str | None = Field(default=None, max_length=64)
    raw_text: str | None = Field(default=None, max_length=1000)
    carrier_delay: bool = False
    exception_reason: str | None = Field(default=None, max_length=500)


class ScanBatchCreate(InputModel):
    scans: list[ScanCreate] = Field(min_length=1, max_length=500)


class ScanRead(BaseModel):
    id: uuid.UUID
    status: ScanStatus
    occurred_at: datetime
    description: str
    location: LocationRead
    raw_code: str | None
    raw_text: str | None
    raw_timestamp: str | None
    carrier_delay: bool
    exception_reason: str | None
    source: str
    recorded_at: datetime


class ScanBatchResult(BaseModel):
    accepted: int = Field(description="New scans stored.")
    duplicates: int = Field(description="Scans already stored, ignored.")
    parcel: ParcelRead


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = Field(
        description="Pass as page_token for the next page; absent when this is the last page."
    )


class CarrierCandidate(BaseModel):
    code: str
    name: str
    tracking_url: str


class DetectionRead(BaseModel):
    tracking_number: str
    candidates: list[CarrierCandidate] = Field(
        description="Carriers whose format and check digit match; exactly one means detected."
    )


class CarrierCapabilities(BaseModel):
    batch_size: int
    requests_per_second: float
    max_concurrency: int
    daily_quota: int | None


class CarrierHealthRead(BaseModel):
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    breaker_state: Literal["closed", "open", "half_open"]


class CarrierRead(BaseModel):
    code: str
    name: str
    configured: bool = Field(description="Credentials are set, so it can be polled.")
    sandbox: bool = Field(description="The sandbox test carrier: journeys are made up.")
    capabilities: CarrierCapabilities
    health: CarrierHealthRead


class RefreshRead(BaseModel):
    carrier: str
    outcome: Literal["found", "not_found"]
    new_scans: list[ScanRead] = Field(description="Scans we had not stored before, oldest first.")
    parcel: ParcelRead


class StuckRuleIn(InputModel):
    """Override the stuck threshold for parcels matching every field that is given."""

    carrier: str | None = Field(default=None, max_length=32)
    status: str | None = Field(
        default=None, description="A tracking status, 'exception', or 'presumed_lost'."
    )
    destination_country: CountryCode | None = None
    # Stored as NUMERIC(6, 2): a finer value would be saved as something else (0.001 as 0).
    business_days: Annotated[float, AfterValidator(lambda days: round(days, 2))] = Field(
        ge=0.01, le=365, description="Rounded to hundredths, as stored."
    )


class StuckRulesUpdate(InputModel):
    rules: list[StuckRuleIn] = Field(max_length=500)


class DefaultThreshold(BaseModel):
    status: str
    express: float
    postal: float


class StuckRulesRead(BaseModel):
    rules: list[StuckRuleIn]
    defaults: list[DefaultThreshold] = Field(
        description="Business days before a parcel counts as stuck when no rule matches."
    )
    carrier_classes: dict[str, str]
    note: str = (
        "Time is counted in business days of the country where the parcel is now; the most "
        "specific matching rule wins; an exception opens an incident at once."
    )
