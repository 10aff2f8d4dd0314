"""The service's view of the carrier registry: codes, identification by number, public links.

"Identify" is what we call finding the carrier of a tracking number; "detect" is reserved for
stuck detection. The live adapters of a process are ``app.core.carrier_hub.CarrierHub``.

A parcel's carrier is one of three kinds of code:

- a registered adapter's (``dhl``, ``tnt``, ...), found from the number when it proves it;
- ``17track:<key>``: any carrier 17TRACK knows, by its 17TRACK carrier key, polled through
  the one 17TRACK connection (``adapters/generic_17track.py``);
- ``other``: a carrier we cannot read. The seller names it and may give its tracking page as
  a template; it is never polled, its scans are pushed to ``POST /v1/parcels/{id}/scans``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from adapters import generic_17track, registry
from adapters.base import CarrierAdapter
from adapters.checkdigits import PAGE_NUMBER
from app.carriers.schemas import (
    CarrierCandidate,
    CarrierCapabilities,
    CarrierHealthRead,
    CarrierRead,
)
from app.core.carrier_hub import CarrierHub
from app.core.errors import ValidationFailed

SANDBOX = "sandbox"
OTHER = "other"  # a carrier the seller names and we never poll
OTHER_NAME = "Other carrier"
NUMBER_FIELD = PAGE_NUMBER
_PROBE = "rt-number-probe"


def carrier_codes() -> list[str]:
    return list(registry.carrier_codes())


def validate_carrier(carrier: str, *, field: str = "carrier") -> str:
    """The carrier the client named, in its one spelling, or a 422 naming ``field``."""
    if carrier == OTHER or (carrier in registry.ADAPTERS and carrier != generic_17track.CODE):
        return carrier
    if carrier == generic_17track.CODE:
        raise ValidationFailed(
            field, "give the carrier's 17TRACK key: '17track:<key>', e.g. '17track:100010'"
        )
    if carrier.startswith(generic_17track.PREFIX):
        try:
            return generic_17track.key_code(generic_17track.parse_key(carrier))
        except ValueError as exc:
            raise ValidationFailed(
                field, f"{exc}; write it as '17track:<key>', e.g. '17track:100010'"
            ) from None
    codes = [code for code in registry.carrier_codes() if code != generic_17track.CODE]
    raise ValidationFailed(
        field,
        f"unknown carrier {carrier!r}; known: {codes}, '17track:<key>' (any carrier 17TRACK "
        f"knows, by its carrier key) and '{OTHER}' (named by you, never polled)",
    )


def resolve_carrier(carrier: str | None, tracking_number: str, *, field: str = "carrier") -> str:
    """The client's carrier if it is valid (it may always override), else the identified one.

    Identified means: exactly one carrier's format and check digit (or own prefix) accept the
    number. A number several carriers accept, or one that only fits a loose format (SF's bare
    12 digits), is a 422 naming ``field`` with the candidates, so the client can choose.
    """
    if carrier is not None:
        return validate_carrier(carrier, field=field)
    exact = identify(tracking_number)
    if len(exact) == 1:
        return exact[0].code
    loose = loose_candidates(tracking_number)
    if len(exact) > 1:
        reason = f"matches several carriers: {[c.code for c in exact]}"
    elif loose:
        reason = (
            f"has a format {[c.code for c in loose]} also use, but no check digit or prefix "
            "proves which carrier it is"
        )
    else:
        reason = "matches no carrier's format and check digit"
    raise ValidationFailed(
        field,
        f"tracking number {tracking_number!r} {reason}; give carrier explicitly",
        candidates=[c.model_dump() for c in exact + loose],
    )


def identification(tracking_number: str) -> tuple[str | None, list[CarrierCandidate]]:
    """(the carrier a parcel without ``carrier`` gets, or None; the candidates to show)."""
    exact = identify(tracking_number)
    if len(exact) == 1:
        return exact[0].code, exact
    return None, exact + loose_candidates(tracking_number)


def identify(tracking_number: str) -> list[CarrierCandidate]:
    return [_candidate(code, tracking_number) for code in registry.identify(tracking_number)]


def loose_candidates(tracking_number: str) -> list[CarrierCandidate]:
    """Carriers whose loose format fits: named when asking, never chosen."""
    return [
        _candidate(code, tracking_number) for code in registry.loose_candidates(tracking_number)
    ]


def _candidate(code: str, tracking_number: str) -> CarrierCandidate:
    return CarrierCandidate(
        code=code, name=carrier_name(code), tracking_url=tracking_url(code, tracking_number)
    )


def carrier_name(carrier: str, *, named: str | None = None) -> str:
    """The carrier's display name ("FedEx", "DPD (UK) (17TRACK 100010)"); for ``other`` the
    name the seller gave (``named``); a code we do not know is shown as itself."""
    if carrier == OTHER:
        return named or OTHER_NAME
    return registry.name(carrier) or carrier


def tracking_url(carrier: str, tracking_number: str, *, template: str | None = None) -> str:
    """The public tracking page. For ``other``: the seller's template filled in, else
    17TRACK's public page, which finds most carriers from the number alone."""
    if carrier == OTHER:
        if template is not None:
            return fill_template(template, tracking_number)
        return generic_17track.public_url(tracking_number, None)
    return str(registry.tracking_url(carrier, tracking_number))


def page_template(carrier: str) -> str | None:
    """The page ``tracking_url`` gives without a seller's template, as text with
    ``NUMBER_FIELD`` where the normalised, percent-encoded number goes, when nothing but the
    number's place picks the page (so SQL can write it: the fast tracker export); None when
    the number picks the page, or for a code we do not know."""
    if carrier == OTHER:
        return generic_17track.page_for_key(None)
    try:
        return registry.page_template(carrier)
    except KeyError:
        return None


def check_template(template: str) -> str:
    """An ``other`` carrier's tracking URL template, checked: https, a host, no credentials,
    and ``{number}`` exactly once, after the host. ValueError says what is wrong."""
    if template.count(NUMBER_FIELD) != 1:
        raise ValueError(f"must contain {NUMBER_FIELD} exactly once")
    rest = template.replace(NUMBER_FIELD, "")
    if "{" in rest or "}" in rest:
        raise ValueError(f"may hold no braces but those of {NUMBER_FIELD}")
    if any(ch.isspace() or not ch.isprintable() for ch in template):
        raise ValueError("must not contain spaces or control characters")
    probe = template.replace(NUMBER_FIELD, _PROBE)
    try:
        parts = urlsplit(probe)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"is not a URL: {exc}") from None
    if parts.scheme.lower() != "https":
        raise ValueError("must be an https:// URL")
    if not host or parts.username is not None:
        raise ValueError("must name a host, with no user or password")
    if _PROBE.lower() in parts.netloc.lower():
        raise ValueError(f"must put {NUMBER_FIELD} after the host (path, query or fragment)")
    return template


def fill_template(template: str, tracking_number: str) -> str:
    return template.replace(NUMBER_FIELD, quote(tracking_number, safe=""))


def never_polled(carrier: str) -> bool:
    """``other``: the seller pushes its scans; no adapter fetches them."""
    return carrier == OTHER


def adapters_to_poll(hub: CarrierHub, keyed_codes: Iterable[str]) -> list[CarrierAdapter]:
    """What the poll job fetches through: every adapter of the hub but the bare ``17track``
    (no parcel carries it), and one adapter per ``17track:<key>`` code with due parcels, each
    on the hub's one 17TRACK connection, so all keys share its pace and quota."""
    adapters = [a for code, a in hub.adapters.items() if code != generic_17track.CODE]
    for code in keyed_codes:
        adapter = registry.adapter_for(code, hub.adapters)
        if adapter is not None and adapter.code not in hub.adapters:
            adapters.append(adapter)
    return adapters


def describe(adapter: CarrierAdapter) -> CarrierRead:
    caps, health = adapter.capabilities, adapter.health()
    return CarrierRead(
        code=adapter.code,
        name=adapter.name,
        configured=adapter.configured,
        sandbox=adapter.code == SANDBOX,
        capabilities=CarrierCapabilities(
            batch_size=caps.batch_size,
            requests_per_second=caps.requests_per_second,
            max_concurrency=caps.max_concurrency,
            daily_quota=caps.daily_quota,
        ),
        health=CarrierHealthRead(
            last_success_at=health.last_success_at,
            last_error_at=health.last_error_at,
            last_error=health.last_error,
            breaker_state=health.breaker_state,
        ),
    )


def describe_all(hub: CarrierHub) -> list[CarrierRead]:
    return [describe(adapter) for adapter in hub.adapters.values()]
