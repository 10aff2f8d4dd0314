"""Notice rule API schemas: what to tell the customer when an automatic incident opens."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.core.schemas import InputModel


class NoticeRuleIn(InputModel):
    incident_type: str = Field(max_length=32, examples=["delay"])
    enabled: bool = False
    template_key: str = Field(min_length=1, max_length=64, examples=["delay_notice"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"reason": "carrier_backlog"}])


class NoticeRulesUpdate(InputModel):
    """Every rule of the tenant; an incident type left out is back to its default (off)."""

    rules: list[NoticeRuleIn] = Field(max_length=50)


class NoticeRuleRead(BaseModel):
    incident_type: str
    enabled: bool
    template_key: str
    params: dict[str, Any]
    is_default: bool = Field(description="Nobody set this rule: the built-in one (off).")


class NoticeRulesRead(BaseModel):
    rules: list[NoticeRuleRead] = Field(description="One per automatic incident type.")
    note: str = (
        "When an automatic incident of an enabled type opens, its template is e-mailed to the "
        "customer in their language, at most once per parcel and incident type, never between "
        "21:00 and 08:00 at the destination (held until 08:00). A returned parcel's reason, "
        "when the rule gives none, is read from the carrier's words; if they do not say, no "
        "notice is sent and the incident's timeline says why."
    )
