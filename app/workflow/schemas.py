"""API schemas of the complaint workflow: messages, templates, evidence, process, claims."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_serializer

from app.core.actors import ActorRead
from app.core.schemas import InputModel, Money, money_text
from app.incidents.schemas import Compensation, CompensationRead, Resolution, RootCause


class AssessmentCreate(InputModel):
    substantiated: bool
    reason: str = Field(min_length=1, max_length=2000, description="Why; shown on the timeline.")


class DepartmentCreate(InputModel):
    department: str = Field(min_length=1, max_length=100, examples=["Warehouse", "Logistics"])
    note: str | None = Field(default=None, max_length=2000)


class RootCauseCreate(InputModel):
    root_cause: RootCause
    detail: str | None = Field(default=None, max_length=2000)


class ProposalCreate(InputModel):
    solution: str = Field(min_length=1, max_length=10_000)
    compensation: Compensation | None = None


class DecisionCreate(InputModel):
    note: str | None = Field(default=None, max_length=2000)


class RejectionCreate(InputModel):
    reason: str = Field(min_length=1, max_length=2000)


class ExecutionCreate(InputModel):
    """Carry out the decision and close the incident with ``resolution``."""

    resolution: Resolution
    summary: str = Field(min_length=1, max_length=2000, examples=["Refunded 15 EUR via PayPal"])
    message_id: uuid.UUID = Field(
        description="The outbound message that told the customer (record it first)."
    )
    reason: str | None = Field(default=None, max_length=2000, description="Required to reject.")


class LessonsCreate(InputModel):
    lessons_learned: str = Field(min_length=1, max_length=10_000)


class ProposalRead(BaseModel):
    id: uuid.UUID
    seq: int
    solution: str
    compensation: CompensationRead | None
    value: Money | None
    value_currency: str | None
    threshold: Money | None
    needs_approval: bool
    status: Literal["pending", "approved", "rejected", "not_required", "superseded"]
    proposed_by: ActorRead
    decided_by: ActorRead | None
    decided_at: datetime | None
    decision_reason: str | None
    created_at: datetime

    @field_serializer("value")
    def _value_out(self, value: Decimal | None) -> str | None:
        return money_text(value, self.value_currency)


class ProcessRead(BaseModel):
    incident_id: uuid.UUID
    step: str
    steps: list[str]
    substantiated: bool | None
    responsible_department: str | None
    root_cause: str | None
    proposed_solution: str | None
    compensation: CompensationRead | None
    proposals: list[ProposalRead]
    lessons_learned: str | None
    status: str
    resolution: str | None
