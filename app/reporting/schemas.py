"""The JSON summary a tenant's dashboard reads (``GET /v1/metrics/summary``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_serializer

from app.core.schemas import Money, money_text


class DurationStats(BaseModel):
    """Percentiles by linear interpolation between the two closest values (median = p50)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None


class IncidentCounts(BaseModel):
    opened: int = Field(description="Incidents opened in the window.")
    opened_by_type: dict[str, int]
    opened_by_source: dict[str, int]
    resolved: int = Field(description="Incidents resolved in the window (whenever opened).")
    resolved_by_resolution: dict[str, int]


class DetectionLead(BaseModel):
    """How often detection opened an incident before the customer reported the problem."""

    customer_reports: int = Field(description="Customer incidents opened in the window.")
    detected_first: int = Field(
        description="Of those, how many had an automatic incident already open on the parcel."
    )
    detected_first_rate: float | None
    lead_time: DurationStats = Field(
        description="From the automatic incident's opening to the customer's report."
    )
    automatic_opened: int = Field(description="Automatic incidents opened in the window.")


class StuckRateByCarrier(BaseModel):
    carrier: str
    parcels: int = Field(description="Parcels registered in the window.")
    stuck: int = Field(description="Of those, parcels detection found stuck at least once.")
    rate: float


class StuckRateByLane(BaseModel):
    origin_country: str | None
    destination_country: str | None
    parcels: int
    stuck: int
    rate: float


class RootCauseCount(BaseModel):
    root_cause: str
    incidents: int
    share: float = Field(description="Share of the window's incidents that have a root cause.")


class CompensationTotal(BaseModel):
    kind: str = Field(description="refund, partial_refund, reshipment, discount, coupon, other")
    currency: str | None
    incidents: int
    amount: Money

    @field_serializer("amount")
    def _amount_out(self, value: Decimal) -> str:
        return money_text(value, self.currency)


class ClaimCounts(BaseModel):
    available: bool = Field(description="False until carrier claims are recorded by the service.")
    filed: int
    won: int
    paid: int


class SummaryRead(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    carrier: str | None
    destination_country: str | None
    generated_at: datetime
    incidents: IncidentCounts
    detection: DetectionLead
    first_response: DurationStats = Field(
        description="Incidents opened in the window: from the customer's report (else the "
        "opening) to the first customer contact."
    )
    resolution_time: DurationStats = Field(
        description="Incidents resolved in the window: from opening to resolution."
    )
    overdue_next_steps: int = Field(description="Unresolved incidents overdue now.")
    stuck_by_carrier: list[StuckRateByCarrier]
    stuck_by_lane: list[StuckRateByLane]
    top_root_causes: list[RootCauseCount]
    compensation: list[CompensationTotal]
    claims: ClaimCounts
