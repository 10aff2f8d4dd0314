"""Rendering desk pages: one Jinja2 environment (autoescaped) with the desk's filters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.core.schemas import money_text
from app.desk.web.auth import Desk
from app.incidents.views import format_number

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """``2026-03-12 10:30`` in the desk's time zone; empty for no time."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def age(moment: datetime | None, now: datetime) -> str:
    """How long ago, in the largest two units that matter: ``3 d 4 h``, ``25 min``."""
    if moment is None:
        return ""
    seconds = int((now - moment).total_seconds())
    ahead = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        text = f"{minutes} min"
    return f"in {text}" if ahead else f"{text} ago"


def labelled(value: str | None) -> str:
    """``awaiting_carrier`` as ``awaiting carrier``."""
    return (value or "").replace("_", " ")


def money(amount: Decimal | None, currency: str | None) -> str:
    """``59.90 EUR``, in the currency's minor units as the API writes it (stored: 59.900)."""
    text = money_text(amount, currency)
    return "" if text is None else f"{text} {currency or ''}".strip()


TEMPLATES.env.filters["labelled"] = labelled
TEMPLATES.env.globals["money"] = money
TEMPLATES.env.globals["incident_number"] = format_number


def page(
    request: Request,
    template: str,
    desk: Desk | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A whole page (or an htmx fragment) with the person, the CSRF token and time helpers."""
    zone = desk.zone if desk is not None else ZoneInfo("UTC")
    now = desk.now if desk is not None else None
    base = {
        "desk": desk,
        "csrf_token": desk.csrf_token if desk is not None else "",
        "local": lambda moment: local_time(moment, zone),
        "ago": (lambda moment: age(moment, now)) if now is not None else (lambda _: ""),
        "zone_name": str(zone),
        "q": "",
    }
    return TEMPLATES.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code, headers=headers
    )
