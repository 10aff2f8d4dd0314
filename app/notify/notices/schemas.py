"""Bulk notice API schemas: which parcels, which template, and what happened to each message."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from adapters.base import ScanStatus
from app.core.actors import ActorRead
from app.core.schemas import CountryCode, InputModel, UtcDatetime
from app.workflow.templates.schemas import TemplateKey

MAX_PARCEL_IDS = 10_000


class NoticeFilter(InputModel):
    """The parcels to tell: every criterion given must match (at least one is required)."""

    carrier: str | None = Field(default=None, max_length=32, examples=["ups"])
    origin_country: CountryCode | None = None
    destination_country: CountryCode | None = None
    status: ScanStatus | None = Field(default=None, description="The parcel's tracking status.")
    stuck: bool | None = Field(
        default=None,
        description="true: parcels with an open automatic incident of a stuck type, or judged "
        "stuck now (as GET /v1/parcels?stuck=true); false: the others.",
    )
    shipped_after: UtcDatetime | None = Field(default=None, description="Shipped at or after.")
    shipped_before: UtcDatetime | None = Field(default=None, description="Shipped before.")
    parcel_ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=MAX_PARCEL_IDS, description="These parcels only."
    )

    @model_validator(mode="after")
    def _something_and_in_order(self) -> Self:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give at least one criterion: a notice never goes to every parcel")
        if self.shipped_after and self.shipped_before and self.shipped_before <= self.shipped_after:
            raise ValueError("shipped_before: must be after shipped_after")
        return self


class NoticeCreate(InputModel):
    filter: NoticeFilter
    template_key: TemplateKey = Field(min_length=1, max_length=64, examples=["holiday_suspension"])
    params: dict[str, Any] = Field(
        default_factory=dict,
        examples=[
            {"holiday_name": "Spring Festival", "from_date": "2026-02-14", "to_date": "2026-02-22"}
        ],
    )
    dry_run: bool = Field(
        default=True,
        description="true (the default): counts and samples, nothing stored or sent; false: "
        "one message per parcel, queued for sending.",
    )
    quiet_hours: bool = Field(
        default=True,
        description="true: an e-mail written between 21:00 and 08:00 at the destination waits "
        "until 08:00 there; false: every e-mail goes out at once (an urgent notice).",
    )


class NoticeSampleRead(BaseModel):
    parcel_id: uuid.UUID
    order_id: str
    language: str
    subject: str
    body: str
    body_html: str


class NoticeDryRunRead(BaseModel):
    count: int = Field(description="Parcels the filter matches: one message each.")
    no_email_count: int = Field(description="Of them, customers without an e-mail address.")
    opted_out_count: int = Field(description="Customers with an address who asked for none.")
    to_send: int = Field(description="Messages that would be queued for sending.")
    sending_off: bool = Field(description="RT_SMTP_HOST is not set: nothing would be sent.")
    samples: list[NoticeSampleRead] = Field(
        description="Up to 3 messages as rendered, in as many customer languages as there are."
    )


class NoticeProgress(BaseModel):
    queued: int = Field(description="Waiting to be sent (some held until 08:00 local).")
    sent: int
    failed: int
    not_sent: int = Field(description="No address, opted out, or sending off.")


class NoticeRead(BaseModel):
    id: uuid.UUID
    template_key: str
    params: dict[str, Any]
    filter: dict[str, Any] = Field(description="The filter, as given.")
    parcel_count: int
    no_email_count: int
    opted_out_count: int
    actor: ActorRead
    created_at: datetime
    progress: NoticeProgress = Field(description="Counted from the messages' delivery now.")
