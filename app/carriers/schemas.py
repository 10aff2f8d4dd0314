"""What the carriers API shows: each carrier, its capabilities and health, detection candidates."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
)


class CarrierCandidate(BaseModel):
    code: str
    name: str
    tracking_url: str


class DetectionRead(BaseModel):
    tracking_number: str
    carrier: str | None = Field(
        description=(
            "The carrier a parcel registered without `carrier` gets; null when the number "
            "does not prove one, and registering it needs `carrier`."
        )
    )
    candidates: list[CarrierCandidate] = Field(
        description=(
            "The identified carrier alone; else every carrier whose format and check digit "
            "match, then those whose looser format fits (SF Express's bare 12 digits)."
        )
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
