"""Parcel API schemas: register, read, the customer, scans in and out.

Inputs forbid unknown fields (see ``app.core.schemas.InputModel``); phone numbers are
normalised with phonenumbers, e-mails checked with email-validator.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    field_serializer,
    model_validator,
)

from adapters.base import ScanStatus
from app.carriers.service import check_template
from app.core.schemas import (
    CountryCode,
    CurrencyCode,
    InputModel,
    IsoDate,
    Locale,
    Money,
    OrderId,
    TrackingNumber,
    UtcDatetime,
    money_text,
)


class Customer(InputModel):
    """The customer to write to; the phone is stored in E.164."""

    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    locale: Locale | None = None
    ticket_ref: str | None = Field(default=None, max_length=100)
    proactive_notices: bool = Field(
        default=True,
        description="False: the customer asked for no notices we start ourselves (delay "
        "notices, bulk notices); replies to the customer still go out.",
    )


class CustomerUpdate(InputModel):
    """What of the customer can change after registration (an unsubscribe, for now)."""

    proactive_notices: bool | None = Field(
        default=None, description="False when the customer asks for no more notices."
    )


class ParcelUpdate(InputModel):
    customer: CustomerUpdate


def normalise_phone(raw: str, region: str | None) -> str:
    """E.164 form; a national number needs the destination country as its region."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"customer.phone: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"customer.phone: {raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


TrackingUrlTemplate = Annotated[
    str,
    Field(max_length=500, examples=["https://track.example.com/?n={number}"]),
    AfterValidator(check_template),
]


class ParcelCreate(InputModel):
    order_id: OrderId
    order_date: IsoDate | None = None
    tracking_number: TrackingNumber
    carrier: str | None = Field(
        default=None,
        description=(
            "Carrier code (`GET /v1/carriers`), `17track:<key>` for any carrier 17TRACK knows "
            "(its numeric carrier key), or `other` for a carrier we cannot read (never polled: "
            "push its scans). Identified from the tracking number when omitted."
        ),
    )
    carrier_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="With carrier `other`, required: the carrier's name as customers know it.",
    )
    tracking_url_template: TrackingUrlTemplate | None = Field(
        default=None,
        description=(
            "With carrier `other`: the carrier's public tracking page, https, with `{number}` "
            "exactly once after the host. Without it the link is 17TRACK's public page."
        ),
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
    proactive_notices: bool = Field(
        description="False: no notices we start ourselves, only replies."
    )


EtaBasis = Literal["carrier", "history", "default"]


class EstimatedDeliveryRead(BaseModel):
    """When the parcel should arrive: days at the destination, both included."""

    earliest: date = Field(description="The first day delivery is expected.")
    latest: date = Field(description="The last day delivery is expected (= earliest: one day).")
    basis: EtaBasis = Field(
        description="`carrier`: the carrier's own estimate; `history`: this account's "
        "deliveries on the same carrier and route (origin to destination country); `default`: "
        "the usual transit time of the carrier's kind (express or postal)."
    )


class ParcelRead(BaseModel):
    id: uuid.UUID
    carrier: str
    carrier_name: str = Field(description="The carrier's display name; for `other`, the seller's.")
    tracking_number: str
    tracking_url: str
    tracking_url_template: str | None = Field(
        description="Carrier `other` only: the template the tracking URL is made from."
    )
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
    estimated_delivery: EstimatedDeliveryRead | None = Field(
        default=None,
        description="When delivery is expected; null while unknown. Re-estimated with each new "
        "scan until the parcel is delivered or returned; then it stays as it was.",
    )
    verdict: str | None = Field(
        default=None,
        description="With ?stuck=: the detection verdict now (no_movement, presumed_lost, "
        "exception, returned, delivery_failed, customs_action), null when not stuck.",
    )
    stuck_since: datetime | None = Field(
        default=None, description="With ?stuck=: since when it has been (or will be) stuck."
    )
    threshold_rule: str | None = Field(
        default=None,
        description="With ?stuck=: the rule that fired, e.g. 'default express in_transit'.",
    )

    @field_serializer("declared_value")
    def _declared_value_out(self, value: Decimal | None) -> str | None:
        return money_text(value, self.currency)


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
