"""Carrier claim API schemas: draft, move through the carrier's answers, read."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_serializer

from app.core.actors import ActorRead
from app.core.schemas import CurrencyCode, InputModel, Money, UtcDatetime, money_text

ClaimType = Literal["lost", "damaged", "delay"]

ClaimStatus = Literal["draft", "filed", "approved", "partially_approved", "rejected", "paid"]


class ClaimCreate(InputModel):
    claim_type: ClaimType
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=3)
    currency: CurrencyCode
    carrier: str | None = Field(default=None, description="Default: the parcel's carrier.")
    evidence_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)


class ClaimTransitionCreate(InputModel):
    to: Literal["filed", "approved", "partially_approved", "rejected", "paid"]
    carrier_reference: str | None = Field(default=None, min_length=1, max_length=100)
    amount: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=14,
        decimal_places=3,
        description="Approved amount (partially_approved) or amount paid (paid).",
    )
    reason: str | None = Field(default=None, max_length=2000)
    occurred_at: UtcDatetime | None = None


class ClaimRead(BaseModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    carrier: str
    claim_type: ClaimType
    amount: Money
    currency: str
    status: ClaimStatus
    carrier_reference: str | None
    approved_amount: Money | None
    paid_amount: Money | None
    evidence_ids: list[uuid.UUID]
    description: str | None
    decision_reason: str | None
    shipped_at: datetime | None
    filing_deadline: datetime
    claim_window_days: int
    days_left: int = Field(description="Whole days until the filing deadline (negative: past).")
    deadline_near: bool = Field(description="Not filed yet and the deadline is close.")
    deadline_passed: bool
    created_by: ActorRead
    created_at: datetime
    updated_at: datetime
    filed_at: datetime | None
    decided_at: datetime | None
    paid_at: datetime | None

    @field_serializer("amount")
    def _amount_out(self, value: Decimal) -> str:
        return money_text(value, self.currency)

    @field_serializer("approved_amount", "paid_amount")
    def _outcome_out(self, value: Decimal | None) -> str | None:
        return money_text(value, self.currency)
