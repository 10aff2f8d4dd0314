"""The notice form: kept as typed (so a refused form comes back filled in, and the confirm
form carries exactly what was previewed), and read into the API's ``NoticeCreate``.

The filter is the API's ``NoticeFilter``, field for field; dates are days in the desk's time
zone (``shipped_after`` from its midnight, ``shipped_before`` up to its midnight); parcel ids
are one per line (or separated by commas or spaces). A template's parameters are
``param_<template>_<name>`` fields, as in the incident page's composer, and only the chosen
template's are read. A refusal names the field in the API's words (``filter.origin_country``)
and in the form's (``Origin country``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.datastructures import FormData

from app.core.errors import AppError, ValidationFailed
from app.notify.notices.schemas import NoticeCreate, NoticeFilter
from app.workflow.templates.catalogue import CATALOGUE, TemplateSpec

FILTER_LABELS = {
    "carrier": "Carrier",
    "origin_country": "Origin country",
    "destination_country": "Destination country",
    "status": "Tracking status",
    "stuck": "Stuck",
    "shipped_after": "Shipped on or after",
    "shipped_before": "Shipped before",
    "parcel_ids": "Parcel ids",
}
LABELS = {
    "filter": "Which parcels",
    **{f"filter.{name}": label for name, label in FILTER_LABELS.items()},
    "template_key": "Template",
    "params": "Template parameters",
    "notice_token": "Confirm form",
}
STUCK = {"": None, "yes": True, "no": False}
DEFAULT_TEMPLATE = "delay_notice"
_ID_SEPARATORS = re.compile(r"[\s,;]+")


def notice_templates() -> list[TemplateSpec]:
    """The templates a notice may use: those that do not speak of an incident."""
    return [spec for spec in CATALOGUE.values() if not spec.needs_incident]


@dataclass(frozen=True, slots=True)
class NoticeForm:
    """What the person typed: the filter's fields, the template and its parameters."""

    values: dict[str, str]
    quiet_hours: bool = True

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def template_key(self) -> str:
        return self.value("template_key")

    @property
    def spec(self) -> TemplateSpec | None:
        """The chosen template, if it is one a notice may use (else the page offers none)."""
        spec = CATALOGUE.get(self.template_key)
        return spec if spec is not None and not spec.needs_incident else None

    def params(self) -> dict[str, str]:
        """The chosen template's parameters, the empty ones left out."""
        spec = CATALOGUE.get(self.template_key)
        if spec is None:
            return {}
        found = {p.name: self.value(f"param_{spec.key}_{p.name}") for p in spec.params}
        return {name: value for name, value in found.items() if value}

    def hidden(self) -> list[tuple[str, str]]:
        """The fields the confirm form carries: the filter, the template, its parameters."""
        fields = [(name, self.value(name)) for name in FILTER_LABELS if self.value(name)]
        fields.append(("template_key", self.template_key))
        key = self.template_key
        fields += [(f"param_{key}_{name}", value) for name, value in self.params().items()]
        fields.append(("quiet_hours", "true" if self.quiet_hours else "false"))
        return fields


def blank_form() -> NoticeForm:
    return NoticeForm(values={"template_key": DEFAULT_TEMPLATE}, quiet_hours=True)


def read_form(form: FormData) -> NoticeForm:
    """The notice's fields from a posted form (anything else in it is ignored)."""
    values: dict[str, str] = {}
    for name, raw in form.multi_items():
        wanted = name in FILTER_LABELS or name == "template_key" or name.startswith("param_")
        if wanted and isinstance(raw, str) and raw.strip():
            values[name] = raw.strip()
    quiet = str(form.get("quiet_hours") or "").lower() in ("on", "true")
    return NoticeForm(values=values, quiet_hours=quiet)


def notice_body(entered: NoticeForm, *, zone: ZoneInfo, dry_run: bool) -> NoticeCreate:
    """The API's body for this form; a field that does not read raises ``ValidationFailed``."""
    if not entered.template_key:
        raise ValidationFailed("template_key", "choose a template")
    criteria = _filter(entered, zone)
    try:
        return NoticeCreate(
            filter=criteria,
            template_key=entered.template_key,
            params=dict(entered.params()),
            dry_run=dry_run,
            quiet_hours=entered.quiet_hours,
        )
    except ValidationError as exc:
        raise _first_error(exc, prefix="") from None


def _filter(entered: NoticeForm, zone: ZoneInfo) -> NoticeFilter:
    stuck = entered.value("stuck")
    if stuck not in STUCK:
        raise ValidationFailed("filter.stuck", "yes, no or any")
    after = _day(entered, "shipped_after", zone)
    before = _day(entered, "shipped_before", zone)
    if after and before and before <= after:
        raise ValidationFailed("filter.shipped_before", "must be a later day than shipped after")
    try:
        return NoticeFilter(
            carrier=entered.value("carrier") or None,
            origin_country=entered.value("origin_country").upper() or None,
            destination_country=entered.value("destination_country").upper() or None,
            status=entered.value("status") or None,
            stuck=STUCK[stuck],
            shipped_after=after,
            shipped_before=before,
            parcel_ids=_parcel_ids(entered.value("parcel_ids")),
        )
    except ValidationError as exc:
        raise _first_error(exc, prefix="filter") from None


def _day(entered: NoticeForm, name: str, zone: ZoneInfo) -> datetime | None:
    raw = entered.value(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"filter.{name}", "a date such as 2026-03-01") from None
    return datetime.combine(day, time(0), tzinfo=zone)


def _parcel_ids(raw: str) -> list[uuid.UUID] | None:
    ids = []
    for line, text in enumerate((t for t in _ID_SEPARATORS.split(raw) if t), start=1):
        try:
            ids.append(uuid.UUID(text))
        except ValueError:
            raise ValidationFailed(
                "filter.parcel_ids",
                f"entry {line}, {text[:40]!r}, is not a parcel id (a UUID such as "
                "0b9f6f7e-3c43-4a55-9d0e-6c1d2f6b8a10)",
            ) from None
    return ids or None


def _first_error(exc: ValidationError, *, prefix: str) -> ValidationFailed:
    """Pydantic's first refusal as a field error: ``filter.origin_country: ...``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"] if not isinstance(part, int))
    field = ".".join(part for part in (prefix, where) if part) or "form"
    message = str(first["msg"]).removeprefix("Value error, ")
    return ValidationFailed(field, message)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the form was refused: the field in the API's words and the form's, and why."""

    field: str
    label: str
    message: str


def refusal_of(exc: AppError) -> Refusal:
    errors = exc.extensions.get("errors") or []
    if not errors:
        return Refusal("form", exc.title, exc.detail)
    field, message = str(errors[0]["field"]), str(errors[0]["message"])
    label = LABELS.get(field)
    if label is None and field.startswith("params."):
        label = field.removeprefix("params.").replace("_", " ").capitalize()
    return Refusal(field, label or field, message)
