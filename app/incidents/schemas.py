"""Incident schemas: one incident is one row of the seller's resolution tracker."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    model_validator,
)

from app.core.actors import ActorRead
from app.core.schemas import (
    CountryCode,
    CurrencyCode,
    InputModel,
    IsoDate,
    Money,
    OrderId,
    TrackingNumber,
    UtcDatetime,
    money_text,
)
from app.incidents.queries import UNASSIGNED, IncidentFilters
from app.parcels.schemas import Customer, CustomerRead, LastScanRead, ScanRead, normalise_phone

IncidentType = Literal[
    "delay",
    "lost",
    "damaged",
    "not_as_described",
    "missing_items",
    "returned",
    "customs",
    "wrong_address",
    "delivery_failed",
    "tracking_error",
    "other",
]
IncidentSource = Literal["customer", "agent", "auto"]
IncidentStatus = Literal[
    "open", "in_progress", "awaiting_customer", "awaiting_carrier", "escalated", "resolved"
]
Resolution = Literal[
    "delivered",
    "refunded",
    "partially_refunded",
    "reshipped",
    "compensated",
    "rejected",
    "cancelled",
]
RootCause = Literal[
    "carrier_delay",
    "customs_inspection",
    "peak_season",
    "weather",
    "holiday_suspension",
    "wrong_address",
    "duties_unpaid",
    "refused_by_recipient",
    "packaging",
    "product_defect",
    "missing_item",
    "lost_by_carrier",
    "other",
]
ActionKind = Literal[
    "note",
    "carrier_contacted",
    "customer_contacted",
    "escalated",
    "claim_filed",
    "refund_issued",
    "reshipped",
    "discount_issued",
    "evidence_requested",
    "other",
]
CompensationKind = Literal["refund", "partial_refund", "reshipment", "discount", "coupon", "other"]
ProcessStep = Literal[
    "assessment",
    "department",
    "root_cause",
    "proposal",
    "approval",
    "execution",
    "lessons",
    "done",
]
"""Where the incident is in the seller's complaint process (see app/workflow/service.py)."""


ACTION_MAX_CHARS = 500  # a next step's action, as its column holds it


class NextStep(InputModel):
    action: str = Field(min_length=1, max_length=ACTION_MAX_CHARS)
    due_at: UtcDatetime


class Compensation(InputModel):
    kind: CompensationKind
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=3)
    currency: CurrencyCode | None = None
    percent: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=2)

    @model_validator(mode="after")
    def _money_has_currency(self) -> Self:
        if self.amount is not None and self.currency is None:
            raise ValueError("currency: required when amount is given")
        return self


class IncidentCreate(InputModel):
    """Either ``parcel_id``, or ``order_id`` + ``tracking_number`` (+ ``carrier``) of a parcel
    that is found or registered on the way."""

    type: IncidentType
    source: Literal["customer", "agent"] = "customer"
    parcel_id: uuid.UUID | None = None
    order_id: OrderId | None = None
    tracking_number: TrackingNumber | None = None
    carrier: str | None = None
    order_date: IsoDate | None = None
    customer: Customer | None = None
    origin_country: CountryCode | None = None
    destination_country: CountryCode | None = None
    customer_reported_at: UtcDatetime | None = None
    description: str | None = Field(default=None, max_length=10_000)
    next_step: NextStep | None = None

    @model_validator(mode="after")
    def _one_parcel_reference(self) -> Self:
        by_order = self.order_id is not None or self.tracking_number is not None
        if self.parcel_id is not None and by_order:
            raise ValueError("parcel_id: give parcel_id or order_id + tracking_number, not both")
        if self.parcel_id is None and (self.order_id is None or self.tracking_number is None):
            raise ValueError("parcel_id: required unless order_id and tracking_number are given")
        if self.customer and self.customer.phone:
            self.customer.phone = normalise_phone(self.customer.phone, self.destination_country)
        return self


def _owner(value: str | None) -> str | None:
    """``none``, or an e-mail compared as stored (lower-cased)."""
    if value is None or value.lower() == UNASSIGNED:
        return UNASSIGNED if value is not None else None
    if "@" not in value:
        raise ValueError(f"an e-mail address, or {UNASSIGNED!r} for incidents nobody owns")
    return value.lower()


def _one_each(values: list[str]) -> list[str]:
    """Sorted and without repeats: the same choice in another order binds the same page token."""
    return sorted(set(values))


CarrierFilter = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


class IncidentListQuery(BaseModel):
    """Which incidents to list (or export), read from the query string. Repeat ``status``,
    ``type`` or ``carrier`` for any of several values; every filter given must hold."""

    model_config = ConfigDict(str_strip_whitespace=True)

    status: Annotated[list[IncidentStatus], AfterValidator(_one_each)] = Field(
        default_factory=list, description="Any of these statuses: status=open&status=escalated."
    )
    type: Annotated[list[IncidentType], AfterValidator(_one_each)] = Field(
        default_factory=list, description="Any of these incident types."
    )
    carrier: Annotated[list[CarrierFilter], AfterValidator(_one_each)] = Field(
        default_factory=list, max_length=20, description="Any of these carriers (codes)."
    )
    order_id: OrderId | None = Field(default=None, description="The parcel's order id, exactly.")
    tracking_number: TrackingNumber | None = Field(
        default=None, description="The parcel's tracking number (spaces and dashes ignored)."
    )
    customer_email: str | None = Field(
        default=None, max_length=320, description="The customer's e-mail, whatever its case."
    )
    parcel_id: uuid.UUID | None = None
    assignee: Annotated[str | None, AfterValidator(_owner)] = Field(
        default=None,
        max_length=320,
        description="The owner's e-mail (any case), or 'none' for incidents nobody owns.",
    )
    q: str | None = Field(
        default=None,
        max_length=200,
        description="Text contained, whatever its case, in the order id, tracking number, "
        "customer name, e-mail or ticket reference, or the description.",
    )

    def filters(
        self,
        *,
        source: str | None,
        overdue: bool | None,
        opened_after: datetime | None,
        opened_before: datetime | None,
    ) -> IncidentFilters:
        return IncidentFilters(
            status=tuple(self.status),
            type=tuple(self.type),
            carrier=tuple(self.carrier),
            source=source,
            overdue=overdue,
            opened_after=opened_after,
            opened_before=opened_before,
            order_id=self.order_id,
            tracking_number=self.tracking_number,
            customer_email=self.customer_email or None,
            parcel_id=self.parcel_id,
            q=self.q or None,
            assignee=self.assignee or None,
        )


class IncidentUpdate(InputModel):
    """Editable fields; status, numbers, tenant and timestamps are not among them."""

    type: IncidentType | None = None
    description: str | None = Field(default=None, max_length=10_000)
    communication_summary: str | None = Field(default=None, max_length=10_000)
    next_step: NextStep | None = None
    substantiated: bool | None = None
    responsible_department: str | None = Field(default=None, max_length=100)
    root_cause: RootCause | None = None
    proposed_solution: str | None = Field(default=None, max_length=10_000)
    compensation: Compensation | None = None
    lessons_learned: str | None = Field(default=None, max_length=10_000)
    assignee: str | None = Field(
        default=None,
        max_length=320,
        description="The owner, by user id or e-mail (a user of your tenant); null unassigns.",
        examples=["anna@shop.example"],
    )


class TransitionCreate(InputModel):
    to: IncidentStatus
    resolution: Resolution | None = Field(default=None, description="Required to resolve.")
    reason: str | None = Field(
        default=None, max_length=2000, description="Why; required to reopen."
    )
    next_step: NextStep | None = None


class ActionCreate(InputModel):
    kind: ActionKind
    text: str = Field(min_length=1, max_length=5000)
    occurred_at: UtcDatetime | None = Field(
        default=None, description="When it happened; defaults to now."
    )


class NextStepRead(BaseModel):
    action: str
    due_at: datetime


class CompensationRead(BaseModel):
    kind: str
    amount: Money | None
    currency: str | None
    percent: Money | None

    @field_serializer("amount")
    def _amount_out(self, value: Decimal | None) -> str | None:
        return money_text(value, self.currency)


class AssigneeRead(BaseModel):
    """The incident's owner: a user of the tenant."""

    id: uuid.UUID
    name: str = Field(examples=["Anna Berg"])
    email: str = Field(examples=["anna@shop.example"])


class IncidentRead(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["INC-000042"])
    type: IncidentType
    source: IncidentSource
    status: IncidentStatus
    resolution: Resolution | None
    assignee: AssigneeRead | None = Field(
        description="Who owns the incident; null: nobody yet (the supervisor's queue)."
    )
    parcel_id: uuid.UUID
    order_id: str
    order_date: date | None
    customer: CustomerRead
    carrier: str
    tracking_number: str
    tracking_url: str
    last_tracking_update: LastScanRead | None
    customer_reported_at: datetime | None
    detected_at: datetime | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    description: str | None
    communication_summary: str | None
    next_step: NextStepRead | None
    overdue: bool
    substantiated: bool | None
    responsible_department: str | None
    root_cause: RootCause | None
    proposed_solution: str | None
    compensation: CompensationRead | None
    lessons_learned: str | None
    process_step: ProcessStep = Field(
        description="The complaint process step the incident is at; 'done' once lessons are in."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class TimelineEntryRead(BaseModel):
    item: Literal["entry"] = "entry"
    at: datetime
    seq: int
    kind: str
    actor: ActorRead
    summary: str
    data: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str


class TimelineScanRead(BaseModel):
    item: Literal["scan"] = "scan"
    at: datetime
    scan: ScanRead


class TimelineRead(BaseModel):
    incident_id: uuid.UUID
    items: list[TimelineEntryRead | TimelineScanRead]


class TimelineVerifyRead(BaseModel):
    incident_id: uuid.UUID
    valid: bool
    entries: int
    head_hash: str | None
    first_broken_seq: int | None
    reason: str | None
