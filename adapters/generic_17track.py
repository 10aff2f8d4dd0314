"""Any other carrier 17TRACK knows, named by its 17TRACK carrier key: ``17track:<key>``.

Sellers ship with carriers we have no adapter for (DPD, GLS, Royal Mail, Yanwen, ...). 17TRACK
tracks some three thousand, each under a numeric key in its carrier list
(``apicarrier.all.json``; ``docs/carriers.md`` §8.1, §8.4). A parcel registered with
``"carrier": "17track:<key>"`` (the key a positive whole number) is read through 17TRACK with
that key sent for its number, exactly as TNT or SF Express are.

The registry holds one ``Generic17TrackAdapter`` under the code ``17track``: it recognises no
number (17TRACK's own detection often fails, §8.4, so the seller names the key) and no parcel
carries that bare code. ``for_key(key)`` gives the adapter of one key (code ``17track:<key>``):
it shares the registry adapter's ``SeventeenTrackAccount`` (one connection, pace, daily count,
breaker and registration memory for the whole 17TRACK key, ``adapters/_17track.py``), sends its
key with every number, is cheap to make, and leaves the connection open when closed.

Names: 17TRACK's own names for the keys listed in ``docs/carriers.md`` §8.1 (``KNOWN_KEYS``,
read from 17TRACK's carrier list, never from other projects' tables); any other key is
"17TRACK carrier <key>". Network, from the key ranges of that list (§8.1): below 100000 the
national posts (postal), 100000-189999 express and regional couriers (express), 190000 and up
mostly China-based forwarders (postal).
"""

from __future__ import annotations

import re

from adapters._17track import SeventeenTrackAdapter
from adapters._17track import build_request as build_request
from adapters._17track_parse import STATUS_TABLE as STATUS_TABLE
from adapters._17track_parse import CarrierParsing
from adapters.base import Network
from adapters.checkdigits import PAGE_NUMBER, fill_page

CODE = "17track"
PREFIX = f"{CODE}:"
_KEY = re.compile(r"[0-9]{1,9}")
PUBLIC_PAGE = "https://t.17track.net/en#nums="

# 17TRACK's names for the keys docs/carriers.md §9.1 lists (17TRACK's apicarrier.all.json).
KNOWN_KEYS: dict[int, str] = {
    1151: "Australia Post",
    2151: "Correios Brazil",
    3011: "China Post",
    3013: "China EMS",
    3041: "Canada Post",
    7041: "DHL Paket",
    8011: "HongKong Post",
    10021: "Japan Post",
    11031: "Royal Mail",
    11033: "Parcelforce",
    21051: "USPS",
    100001: "DHL Express",
    100002: "UPS",
    100003: "FedEx",
    100004: "TNT",
    100005: "GLS",
    100007: "DPD (DE)",
    100010: "DPD (UK)",
    100012: "SF Express",
    100024: "GLS (IT)",
    100065: "TNT (IT)",
    100072: "DPD (FR)",
    100111: "DPD (PL)",
    100189: "GLS Spain (National)",
    100200: "TNT (AU)",
    100241: "TNT (FR)",
    100305: "GLS (US)",
    100709: "DPD Local",
    100811: "DPD (NL)",
    101070: "GLS (DE)",
    101108: "DPD Group",
    101109: "GLS Group",
    101148: "SF Express Indonesia",
    101272: "GLS (FR)",
    190008: "YunExpress",
    190012: "Yanwen",
    190094: "4PX",
    190271: "Cainiao",
    190766: "SF Express(CN)",
    191076: "Cainiao(CN)",
}


def parse_key(code: str) -> int:
    """The key of a ``17track:<key>`` code; ValueError saying what is wrong otherwise."""
    if not code.startswith(PREFIX):
        raise ValueError(f"{code!r} does not start with {PREFIX!r}")
    text = code.removeprefix(PREFIX)
    if not _KEY.fullmatch(text) or int(text) == 0:
        raise ValueError(
            f"the 17TRACK carrier key after {PREFIX!r} must be a positive whole number of at "
            f"most 9 digits (17TRACK's carrier list), not {text!r}"
        )
    return int(text)


def key_of(code: str) -> int | None:
    """The key of a valid ``17track:<key>`` code, else None (any other code).

    Asked for every carrier code of every exported row and view: the other carriers' codes
    are turned away before an exception (with its message) is built for them."""
    if not code.startswith(PREFIX):
        return None
    try:
        return parse_key(code)
    except ValueError:
        return None


def key_code(key: int) -> str:
    """The carrier code of a key, in its one spelling (``17track:100010``)."""
    return f"{PREFIX}{key}"


def display_name(key: int) -> str:
    known = KNOWN_KEYS.get(key)
    return f"{known} (17TRACK {key})" if known else f"17TRACK carrier {key}"


def network_of(key: int) -> Network:
    return "express" if 100_000 <= key < 190_000 else "postal"


def page_for_key(key: int | None) -> str:
    """17TRACK's public tracking page; ``fc`` names the carrier instead of detecting it."""
    return PUBLIC_PAGE + PAGE_NUMBER + (f"&fc={key}" if key is not None else "")


def public_url(number: str, key: int | None) -> str:
    return fill_page(page_for_key(key), number)


_PARSING = CarrierParsing(CODE)
parse_tracking = _PARSING.parse_tracking
status_for = _PARSING.status_for


class Generic17TrackAdapter(SeventeenTrackAdapter):
    """The registry's 17TRACK-by-key adapter, or (``for_key``) one key's; see the docstring."""

    code = CODE
    name = "17TRACK (any carrier, by key)"
    key: int | None = None  # set on a keyed adapter only
    page_template: str | None = page_for_key(None)

    def for_key(self, key: int) -> Generic17TrackAdapter:
        """The adapter of ``17track:<key>``, on this adapter's 17TRACK connection."""
        keyed = Generic17TrackAdapter(account=self.account)
        keyed.key = key
        keyed.code, keyed.name, keyed.network = key_code(key), display_name(key), network_of(key)
        keyed.page_template = page_for_key(key)
        return keyed

    def carrier_key_of(self, number: str) -> int | None:
        return self.key

    def matches(self, number: str) -> bool:
        """Never: the seller names the key; no number format says which of 3,000 it is."""
        return False

    def tracking_url(self, number: str) -> str:
        return public_url(number, self.key)

    async def aclose(self) -> None:
        """A keyed adapter borrows the connection: only the registry's one closes it."""
        if self.key is None:
            await super().aclose()
