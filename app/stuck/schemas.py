"""Stuck rules API schemas: a tenant's overrides and the defaults they override."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
)

from app.core.schemas import CountryCode, InputModel


class StuckRuleIn(InputModel):
    """Override the stuck threshold for parcels matching every field that is given."""

    carrier: str | None = Field(default=None, max_length=32)
    status: str | None = Field(
        default=None, description="A tracking status, 'exception', or 'presumed_lost'."
    )
    destination_country: CountryCode | None = None
    # Stored as NUMERIC(6, 2): a finer value would be saved as something else (0.001 as 0).
    business_days: Annotated[float, AfterValidator(lambda days: round(days, 2))] = Field(
        ge=0.01, le=365, description="Rounded to hundredths, as stored."
    )


class StuckRulesUpdate(InputModel):
    rules: list[StuckRuleIn] = Field(max_length=500)


class DefaultThreshold(BaseModel):
    status: str
    express: float
    postal: float


class StuckRulesRead(BaseModel):
    rules: list[StuckRuleIn]
    defaults: list[DefaultThreshold] = Field(
        description="Business days before a parcel counts as stuck when no rule matches."
    )
    carrier_classes: dict[str, str]
    note: str = (
        "Time is counted in business days of the country where the parcel is now; the most "
        "specific matching rule wins; an exception opens an incident at once."
    )
