"""One row per carrier: can we reach it? Shared by every process (see ``states``)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db.tables import timestamp_field


class CarrierState(SQLModel, table=True):
    """Whether we can reach a carrier; one row per carrier, shared by every process."""

    __tablename__ = "carrier_states"

    carrier: str = Field(primary_key=True, max_length=32)
    available: bool = True
    available_since: datetime | None = timestamp_field(nullable=True)
    unavailable_since: datetime | None = timestamp_field(nullable=True)
    last_success_at: datetime | None = timestamp_field(nullable=True)
    last_failure_at: datetime | None = timestamp_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    failing_numbers: str = Field(
        default="",
        description="Space-separated numbers whose calls failed since the carrier last "
        "answered anyone (capped): the evidence that tells an outage from one bad number.",
    )
