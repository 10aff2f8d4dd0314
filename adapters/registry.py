"""Every carrier the service knows, in one explicit dict: adding a carrier is one line here.

An adapter is *enabled* (polled) when its credentials are configured; an unconfigured one
still identifies its numbers and links to its public tracking page.

The 17TRACK-backed adapters of one process share one 17TRACK connection (``build_all``).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from adapters._17track import SeventeenTrackAccount, SeventeenTrackAdapter, SeventeenTrackSettings
from adapters.base import CarrierAdapter, LooseFormats, Network
from adapters.china_post import ChinaPostAdapter
from adapters.dhl import DhlAdapter
from adapters.ems import EmsAdapter
from adapters.fedex import FedexAdapter
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
    "sandbox": SandboxAdapter,
}

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


def network(code: str) -> Network:
    """Express courier or postal network; a carrier we do not know is treated as postal."""
    adapter = ADAPTERS.get(code)
    return adapter.network if adapter is not None else "postal"


def tracking_url(code: str, number: str) -> str:
    return _recogniser(code).tracking_url(number)
