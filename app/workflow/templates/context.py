"""What a template sees: the incident's real data, formatted for the customer's locale.

Dates are shown in the destination country's time zone and in the customer's locale (Babel);
"I will update you by <date>" counts business days of the destination country (holidays
included). ``estimated_delivery`` is the parcel's delivery window ("12-15 March": Babel's
interval in the customer's locale) and how many business days remain until it, for "a
possible delay of 3-5 business days"; None without an estimate. Every name is always present
(None when unknown), so a template's typo is an error instead of an empty gap in a customer's
e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_interval
from babel.numbers import format_currency, format_percent

from app.carriers import service as carriers
from app.core.calendars import add_business_days, country_zone
from app.incidents.models import Incident
from app.incidents.views import format_number
from app.parcels.eta import Basis, Estimate, delay_business_days
from app.parcels.models import Parcel
from app.parcels.service import carrier_name_of
from app.workflow.templates.catalogue import FALLBACK_LANGUAGE, TemplateSpec


def customer_language(locale: str | None) -> str:
    """``pt-BR`` -> ``pt``; no locale -> English."""
    return (locale or FALLBACK_LANGUAGE).split("-")[0].split("_")[0].lower()


def babel_locale(customer_locale: str | None, language: str) -> Locale:
    """The customer's locale when the text is in their language, else the text's language."""
    if customer_locale and customer_language(customer_locale) == language:
        try:
            return Locale.parse(customer_locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            pass
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK_LANGUAGE)


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """The rows a message is about, and when it is written (a notice has no incident)."""

    incident: Incident | None
    parcel: Parcel
    store_name: str
    now: datetime
    update_business_days: int


def build_context(
    facts: MessageFacts, spec: TemplateSpec, params: dict[str, Any], locale: Locale
) -> dict[str, Any]:
    parcel, incident = facts.parcel, facts.incident
    zone = country_zone(parcel.destination_country)

    def day(value: date | datetime | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            value = value.astimezone(zone).date()
        return str(format_date(value, format="long", locale=locale))

    # n business days that end at midnight end on that day, not the next
    days, country = facts.update_business_days, parcel.destination_country
    update_by = add_business_days(facts.now, days, country) - timedelta(seconds=1)
    last_scan = None
    if parcel.last_scan_at is not None:
        place = ", ".join(
            part
            for part in (parcel.last_scan_city, _country_name(parcel.last_scan_country, locale))
            if part
        )
        last_scan = {
            "description": parcel.last_scan_description,
            "date": day(parcel.last_scan_at),
            "time": str(format_datetime(parcel.last_scan_at, "medium", tzinfo=zone, locale=locale)),
            "location": place or None,
        }
    return {
        "customer_name": parcel.customer_name,
        "store_name": facts.store_name,
        "incident_number": format_number(incident.number) if incident else None,
        "order_id": parcel.order_id,
        "order_date": day(parcel.order_date),
        "carrier": carrier_name_of(parcel),
        "tracking_number": parcel.tracking_number,
        "tracking_url": carriers.tracking_url(parcel.carrier, parcel.tracking_number),
        "last_scan": last_scan,
        "destination_country": _country_name(parcel.destination_country, locale),
        "update_by": day(update_by),
        "estimated_delivery": _estimated_delivery(parcel, facts.now, locale),
        "params": _formatted_params(spec, params, facts, locale, day),
    }


def _formatted_params(
    spec: TemplateSpec,
    params: dict[str, Any],
    facts: MessageFacts,
    locale: Locale,
    day: Any,
) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for param in spec.params:
        value = params.get(param.name)
        if value is not None and param.kind == "date":
            value = day(value)
        elif value is not None and param.kind == "percent":
            value = str(format_percent(Decimal(value) / 100, locale=locale))
        shown[param.name] = value
    if "amount" in shown:
        incident = facts.incident
        amount = params.get("amount") or (incident.compensation_amount if incident else None)
        currency = (
            params.get("currency")
            or (incident.compensation_currency if incident else None)
            or facts.parcel.currency
        )
        shown["amount"] = (
            str(format_currency(amount, currency, locale=locale)) if amount and currency else None
        )
    return shown


EN_DASH = "\u2013"  # a range of numbers, in every language we write


def _estimated_delivery(parcel: Parcel, now: datetime, locale: Locale) -> dict[str, Any] | None:
    """The window in the customer's words; the delay in business days from today, each end
    at least 1 (``app/parcels/eta.py``)."""
    if parcel.eta_earliest is None or parcel.eta_latest is None:
        return None
    country = parcel.destination_country
    estimate = Estimate(parcel.eta_earliest, parcel.eta_latest, cast(Basis, parcel.eta_basis))
    today = now.astimezone(country_zone(country)).date()
    # the year only when the window is not in this one
    skeleton = "MMMMd" if estimate.earliest.year == estimate.latest.year == today.year else "yMMMMd"
    low, high = delay_business_days(today, estimate, country)
    return {
        "earliest": str(format_date(estimate.earliest, format="long", locale=locale)),
        "latest": str(format_date(estimate.latest, format="long", locale=locale)),
        "range": str(format_interval(estimate.earliest, estimate.latest, skeleton, locale=locale)),
        "basis": estimate.basis,
        "delay_days": str(low) if low == high else f"{low}{EN_DASH}{high}",
        "delay_days_max": high,
    }


def _country_name(code: str | None, locale: Locale) -> str | None:
    if not code:
        return None
    name = locale.territories.get(code.upper())
    return str(name) if name else code
