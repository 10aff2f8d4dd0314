"""Customer message API schemas: preview a template, record a message, read it back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, model_validator

from app.core.actors import ActorRead
from app.core.schemas import InputModel, UtcDatetime
from app.workflow.templates.schemas import Language, TemplateKey

ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # no control characters: no line breaks

Channel = Literal["email", "chat", "phone", "marketplace"]

Direction = Literal["in", "out"]


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
    subject: str | None = Field(
        default=None,
        max_length=300,
        pattern=ONE_LINE,
        description="One line: an e-mail subject with a line break would forge headers.",
    )
    text: str | None = Field(default=None, min_length=1, max_length=20_000)
    summary: str | None = Field(
        default=None, max_length=300, description="One line; default: the subject or first line."
    )
    occurred_at: UtcDatetime | None = Field(default=None, description="Default: now.")
    send: bool = Field(
        default=False,
        description="E-mail only: we send it to the customer's address (see `delivery`); "
        "false: it records a message sent or received elsewhere.",
    )

    @model_validator(mode="after")
    def _template_or_text(self) -> Self:
        if self.send and (self.channel != "email" or self.direction != "out"):
            raise ValueError("send: only an outbound message on channel email can be sent")
        if (self.template_key is None) == (self.text is None):
            raise ValueError("text: give either template_key or text")
        if self.template_key is not None and self.direction == "in":
            raise ValueError("template_key: templates are for outbound messages")
        if self.template_key is None and (self.params or self.language):
            raise ValueError("params: only with template_key")
        return self


Delivery = Literal["queued", "sent", "failed", "not_sent"]


class MessageRead(BaseModel):
    id: uuid.UUID
    parcel_id: uuid.UUID
    incident_id: uuid.UUID | None = Field(description="Null for a notice outside any incident.")
    notice_id: uuid.UUID | None = Field(description="The bulk notice it belongs to, if any.")
    proactive: bool = Field(description="We told the customer first (a notice), not a reply.")
    direction: Direction
    channel: Channel
    template_key: str | None
    language: str | None
    subject: str | None
    body: str
    body_html: str | None
    summary: str
    actor: ActorRead
    occurred_at: datetime
    created_at: datetime
    delivery: Delivery | None = Field(
        default=None,
        description="E-mail we send: queued, then sent or failed; not_sent when it could not "
        "go out at all. Null: a message recorded, not sent by us.",
    )
    delivery_changed_at: datetime | None = None
    delivery_error: str | None = Field(default=None, description="Why it failed or was not sent.")
    smtp_queue_id: str | None = Field(
        default=None, description="The SMTP server's answer when it took it."
    )
    delivery_attempts: int
    email_to: str | None = None
    email_message_id: str | None = Field(default=None, description="Its Message-ID header.")
    in_reply_to: str | None = Field(
        default=None, description="The Message-ID it answers in its thread."
    )
