"""API schemas of the complaint workflow: messages, templates, evidence, process, claims."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, model_validator

from app.domain.incident_schemas import Compensation, CompensationRead, Resolution, RootCause
from app.domain.schemas import CurrencyCode, InputModel, Money, UtcDatetime

Channel = Literal["email", "chat", "phone", "marketplace"]
Direction = Literal["in", "out"]
EvidenceKind = Literal["photo", "video", "receipt", "insurance", "packaging", "other"]
ClaimType = Literal["lost", "damaged", "delay"]
ClaimStatus = Literal["draft", "filed", "approved", "partially_approved", "rejected", "paid"]
TemplateKey = str
Language = str


class MessagePreviewCreate(InputModel):
    template_key: TemplateKey = Field(min_length=1, max_length=64, examples=["delay_notice"])
    language: Language | None = Field(
        default=None, max_length=8, description="Default: the customer's locale, else English."
    )
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"reason": "peak_season"}])


class MessagePreviewRead(BaseModel):
    template_key: str
    language: str = Field(description="The language of the text used (after any fallback).")
    source: Literal["library", "tenant"]
    subject: str
    body: str
    body_html: str


class MessageCreate(InputModel):
    """A template (outbound only) or free text; what was sent or received, as it was."""

    channel: Channel
    direction: Direction = "out"
    template_key: TemplateKey | None = Field(default=None, max_length=64)
    language: Language | None = Field(default=None, max_length=8)
    params: dict[str, Any] = Field(default_factory=dict)
    subject: str | None = Field(default=None, max_length=300)
    text: str | None = Field(default=None, min_length=1, max_length=20_000)
    summary: str | None = Field(
        default=None, max_length=300, description="One line; default: the subject or first line."
    )
    occurred_at: UtcDatetime | None = Field(default=None, description="Default: now.")

    @model_validator(mode="after")
    def _template_or_text(self) -> Self:
        if (self.template_key is None) == (self.text is None):
            raise ValueError("text: give either template_key or text")
        if self.template_key is not None and self.direction == "in":
            raise ValueError("template_key: templates are for outbound messages")
        if self.template_key is None and (self.params or self.language):
            raise ValueError("params: only with template_key")
        return self


class MessageRead(BaseModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    direction: Direction
    channel: Channel
    template_key: str | None
    language: str | None
    subject: str | None
    body: str
    body_html: str | None
    summary: str
    actor: str
    occurred_at: datetime
    created_at: datetime


class TemplateParamRead(BaseModel):
    name: str
    kind: str
    required: bool
    choices: list[str] | None
    description: str


class TemplateSummaryRead(BaseModel):
    key: str
    description: str
    languages: list[str] = Field(description="Languages our library has.")
    overridden_languages: list[str] = Field(description="Languages this tenant has rewritten.")
    params: list[TemplateParamRead]


class TemplateTextRead(BaseModel):
    language: str
    source: Literal["library", "tenant"]
    subject: str
    body: str
    updated_at: datetime | None = None
    updated_by: str | None = None


class TemplateRead(TemplateSummaryRead):
    texts: list[TemplateTextRead] = Field(description="The texts in use, per language.")
    library_texts: list[TemplateTextRead]


class TemplateOverrideUpdate(InputModel):
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)


class EvidenceRead(BaseModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    kind: EvidenceKind
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    description: str | None
    uploaded_by: str
    created_at: datetime
    download_url: str


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
    proposed_by: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    created_at: datetime


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
    created_by: str
    created_at: datetime
    updated_at: datetime
    filed_at: datetime | None
    decided_at: datetime | None
    paid_at: datetime | None
