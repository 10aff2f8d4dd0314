"""The template library's catalogue: each situation, the parameters it takes, sample values.

The texts live in ``library/<language>/<key>.j2`` (first line: the subject; then a blank line;
then the body). Every template also sees the incident's data (see ``context.py``); the
parameters here are what only the agent knows (a reason, a date range, a discount). A
template that speaks of the incident itself (``needs_incident``) cannot be a notice sent
outside one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import pycountry

from app.core.errors import NotFound, ValidationFailed

LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt")
FALLBACK_LANGUAGE = "en"
ParamKind = Literal["choice", "date", "text", "money", "percent", "currency"]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: ParamKind
    description: str
    sample: str
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    key: str
    description: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    needs_incident: bool = False
    """Speaks of the incident (its number, its compensation): never for a notice without one."""


_DELAY_REASONS = ("customs_screening", "peak_season", "bad_weather", "carrier_backlog")
_RETURN_REASONS = ("wrong_address", "unpaid_duties", "refused", "not_collected")

CATALOGUE: dict[str, TemplateSpec] = {
    spec.key: spec
    for spec in (
        TemplateSpec(
            "delay_notice",
            "The parcel is late, with the reason, and when we will update the customer.",
            (
                Param(
                    "reason", "choice", "Why it is late.", "customs_screening", True, _DELAY_REASONS
                ),
            ),
        ),
        TemplateSpec(
            "holiday_suspension",
            "Carriers or our warehouse pause for a holiday (e.g. Spring Festival), with its dates.",
            (
                Param(
                    "holiday_name",
                    "text",
                    "The holiday, as the customer knows it.",
                    "Spring Festival",
                ),
                Param("from_date", "date", "First day of the pause.", "2026-02-14"),
                Param("to_date", "date", "Last day of the pause.", "2026-02-22"),
            ),
        ),
        TemplateSpec(
            "in_transit_update",
            "Still on its way: tracking number and link, an apology, maybe a discount.",
            (
                Param("discount_percent", "percent", "Discount on the next order.", "10", False),
                Param("discount_code", "text", "The coupon code for it.", "SORRY10", False),
            ),
        ),
        TemplateSpec(
            "evidence_request",
            "Ask for photos or a video of a damaged or wrong item (and its packaging).",
            (
                Param(
                    "problem",
                    "choice",
                    "What went wrong.",
                    "damaged",
                    True,
                    ("damaged", "wrong_item"),
                ),
            ),
        ),
        TemplateSpec(
            "reshipment_promised",
            "A replacement will be shipped by a date.",
            (
                Param(
                    "ship_by", "date", "Date the replacement leaves at the latest.", "2026-03-16"
                ),
                Param(
                    "new_tracking_number", "text", "If already known.", "1Z12345E6712345677", False
                ),
            ),
        ),
        TemplateSpec(
            "refund_confirmed",
            "The refund is made; amount (default: the incident's compensation) and method.",
            (
                Param("amount", "money", "Amount refunded.", "59.90", False),
                Param(
                    "currency", "currency", "Default: the compensation's or order's.", "EUR", False
                ),
                Param("method", "text", "How it is paid back (e.g. PayPal).", "PayPal", False),
            ),
            needs_incident=True,
        ),
        TemplateSpec(
            "parcel_lost",
            "The carrier has lost the parcel, and what happens next.",
            (
                Param(
                    "next_step",
                    "choice",
                    "What we do about it.",
                    "reship",
                    True,
                    ("reship", "refund", "investigation"),
                ),
            ),
        ),
        TemplateSpec(
            "parcel_returned",
            "The parcel came back to us, why, and the customer's options.",
            (
                Param(
                    "reason",
                    "choice",
                    "Why it was returned.",
                    "wrong_address",
                    True,
                    _RETURN_REASONS,
                ),
            ),
        ),
        TemplateSpec(
            "incident_closed", "The case is closed; thank the customer.", (), needs_incident=True
        ),
    )
}


def spec_for(key: str) -> TemplateSpec:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise NotFound(f"template {key!r} not found; see GET /v1/templates") from None


def parse_params(spec: TemplateSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """Typed parameter values (every declared name present, None when not given)."""
    unknown = sorted(set(raw) - {p.name for p in spec.params})
    if unknown:
        raise ValidationFailed(f"params.{unknown[0]}", f"not a parameter of {spec.key}")
    values: dict[str, Any] = {}
    for param in spec.params:
        value = raw.get(param.name)
        if value is None or value == "":
            if param.required:
                raise ValidationFailed(f"params.{param.name}", f"required by {spec.key}")
            values[param.name] = None
            continue
        values[param.name] = _typed(param, value)
    if (
        values.get("from_date")
        and values.get("to_date")
        and values["to_date"] < values["from_date"]
    ):
        raise ValidationFailed("params.to_date", "must not be before from_date")
    return values


def _typed(param: Param, value: Any) -> Any:
    field_name = f"params.{param.name}"
    text = str(value).strip()
    if param.kind == "choice":
        if text not in param.choices:
            raise ValidationFailed(field_name, f"choose from {list(param.choices)}")
        return text
    if param.kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed(field_name, "an ISO date such as 2026-03-16") from None
    if param.kind in ("money", "percent"):
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValidationFailed(field_name, "a number such as 12.50") from None
        upper = Decimal(100) if param.kind == "percent" else Decimal(10) ** 11
        if not number.is_finite() or number <= 0 or number > upper:
            raise ValidationFailed(field_name, f"must be above 0 and at most {upper}")
        return number
    if param.kind == "currency":
        if len(text) != 3 or pycountry.currencies.get(alpha_3=text.upper()) is None:
            raise ValidationFailed(field_name, "an ISO 4217 currency code such as EUR")
        return text.upper()
    if len(text) > 200:
        raise ValidationFailed(field_name, "at most 200 characters")
    return text


def sample_params(spec: TemplateSpec) -> dict[str, Any]:
    return parse_params(spec, {p.name: p.sample for p in spec.params})
