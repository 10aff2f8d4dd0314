"""Every carrier the service knows, in one explicit dict: adding a carrier is one line here.

An adapter is *enabled* (polled) when its credentials are configured; an unconfigured one
still identifies its numbers and links to its public tracking page.

Beyond the dict, ``17track:<key>`` names any carrier 17TRACK knows by its carrier key
(``adapters/generic_17track.py``): such a code has no entry of its own but an adapter made from
the ``17track`` one (``adapter_for``), a name, a network and a public page like any other. The
17TRACK-backed adapters of one process share one 17TRACK connection (``build_all``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import httpx

from adapters import generic_17track
from adapters._17track import SeventeenTrackAccount, SeventeenTrackAdapter, SeventeenTrackSettings
from adapters.base import CarrierAdapter, LooseFormats, Network
from adapters.china_post import ChinaPostAdapter
from adapters.dhl import DhlAdapter
from adapters.ems import EmsAdapter
from adapters.fedex import FedexAdapter
from adapters.generic_17track import Generic17TrackAdapter
from adapters.sandbox import SandboxAdapter
from adapters.sf_express import SfExpressAdapter
from adapters.tnt import TntAdapter
from adapters.ups import UpsAdapter

ADAPTERS: dict[str, type[CarrierAdapter]] = {
    "dhl": DhlAdapter,
    "fedex": FedexAdapter,
    "ups": UpsAdapter,
    "ems": EmsAdapter,
    "china_post": ChinaPostAdapter,
    "tnt": TntAdapter,
    "sf_express": SfExpressAdapter,
    "17track": Generic17TrackAdapter,
    "sandbox": SandboxAdapter,
}
# holds no parcels itself (its keyed adapters do), so there is nothing to poll under it
BY_KEY_ONLY = generic_17track.CODE

# Detection is answered without credentials, so one unconfigured instance per class suffices.
_DETECTORS: dict[str, CarrierAdapter] = {}


def carrier_codes() -> list[str]:
    return list(ADAPTERS)


def build_adapter(
    code: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> CarrierAdapter:
    """A live adapter with its settings read from the environment (``RT_<CARRIER>_*``)."""
    return ADAPTERS[code](transport=transport)  # type: ignore[call-arg]


def build_all(
    *, transport: httpx.AsyncBaseTransport | None = None
) -> Iterator[tuple[str, CarrierAdapter]]:
    """Every registered adapter; the 17TRACK-backed ones on one shared 17TRACK account, so
    the key's pace, daily count and breaker hold for all of them together."""
    account = SeventeenTrackAccount(SeventeenTrackSettings(), transport=transport)
    for code, adapter in ADAPTERS.items():
        if issubclass(adapter, SeventeenTrackAdapter):
            yield code, adapter(account=account)
        else:
            yield code, build_adapter(code, transport=transport)


def adapter_for(code: str, adapters: Mapping[str, CarrierAdapter]) -> CarrierAdapter | None:
    """``adapters[code]``, or for ``17track:<key>`` that key's adapter on the ``17track`` one's
    connection; None for a code no adapter serves."""
    if code in adapters:
        return adapters[code]
    key = generic_17track.key_of(code)
    base = adapters.get(generic_17track.CODE)
    if key is None or not isinstance(base, Generic17TrackAdapter):
        return None
    return base.for_key(key)


def _recogniser(code: str) -> CarrierAdapter:
    if code not in _DETECTORS:
        _DETECTORS[code] = build_adapter(code)
    return _DETECTORS[code]


def identify(number: str) -> list[str]:
    """Codes of every carrier whose format and check digit accept ``number``."""
    return [code for code in ADAPTERS if _recogniser(code).matches(number)]


def loose_candidates(number: str) -> list[str]:
    """Codes of carriers whose loose formats fit ``number`` (``LooseFormats``): candidates to
    name when asking for the carrier, never a detection."""
    return [
        code
        for code in ADAPTERS
        if isinstance(adapter := _recogniser(code), LooseFormats)
        and adapter.could_match(number)
        and not adapter.matches(number)
    ]


def is_known(code: str) -> bool:
    """A registered code or a well-formed ``17track:<key>``."""
    return code in ADAPTERS or generic_17track.key_of(code) is not None


def name(code: str) -> str | None:
    """The display name ("FedEx", "DPD (UK) (17TRACK 100010)"); None for an unknown code."""
    adapter = ADAPTERS.get(code)
    if adapter is not None:
        return adapter.name
    key = generic_17track.key_of(code)
    return generic_17track.display_name(key) if key is not None else None


def network(code: str) -> Network:
    """Express courier or postal network; a carrier we do not know is treated as postal."""
    adapter = ADAPTERS.get(code)
    if adapter is not None:
        return adapter.network
    key = generic_17track.key_of(code)
    return generic_17track.network_of(key) if key is not None else "postal"


def tracking_url(code: str, number: str) -> str:
    key = generic_17track.key_of(code)
    if key is not None:
        return generic_17track.public_url(number, key)
    return _recogniser(code).tracking_url(number)


def page_template(code: str) -> str | None:
    """The carrier's ``page_template`` (None when the number picks the page); KeyError for a
    code that is not registered."""
    key = generic_17track.key_of(code)
    if key is not None:
        return generic_17track.page_for_key(key)
    return _recogniser(code).page_template
