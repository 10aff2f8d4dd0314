"""SF Express (顺丰) international shipments tracked through 17TRACK.

SF's own route API needs a contract account and the consignee's phone digits per query
(``docs/carriers.md`` §8.3), so this adapter reads 17TRACK (``adapters/_17track.py``) with its
carrier key 100012 ("SF Express", intl.sf-express.com, §8.1); the status tables live in
``adapters/_17track_parse.py``. Like every carrier module this one offers ``STATUS_TABLE``,
``status_for``, ``parse_tracking`` and ``build_request`` (17TRACK's, bound to this carrier).

A number is SF Express's when it is ``SF`` + 13 digits. SF's older bare 12-digit numbers have no
documented check digit and share their shape with other couriers' (and with FedEx Express,
whose check digit then decides), so a 12-digit number only makes SF a *candidate*
(``could_match``): the API then asks the client for ``carrier``, never picks SF by itself.
17TRACK also lists SF Express(CN) 190766 for domestic Chinese shipments: register those as
``17track:190766``.
"""

from __future__ import annotations

from adapters._17track import SeventeenTrackAdapter
from adapters._17track import build_request as build_request
from adapters._17track_parse import STATUS_TABLE as STATUS_TABLE
from adapters._17track_parse import CarrierParsing
from adapters.base import Network
from adapters.checkdigits import (
    PAGE_NUMBER,
    fill_page,
    is_sf_express_bare,
    is_valid_sf_express,
)

CODE = "sf_express"
# 17TRACK carrier key of SF Express, international (17TRACK's apicarrier.all.json;
# docs/carriers.md §9.1)
SF_EXPRESS_KEY = 100012
PUBLIC_PAGE = "https://www.sf-express.com/us/en/dynamic_function/waybill/#search/bill-number/"


_PARSING = CarrierParsing(CODE)
parse_tracking = _PARSING.parse_tracking
status_for = _PARSING.status_for


class SfExpressAdapter(SeventeenTrackAdapter):
    """SF Express shipments, via 17TRACK; see the module docstring."""

    code = CODE
    name = "SF Express"
    page_template: str | None = PUBLIC_PAGE + PAGE_NUMBER  # the waybill search (English)
    network: Network = "express"

    def carrier_key_of(self, number: str) -> int | None:
        return SF_EXPRESS_KEY

    def matches(self, number: str) -> bool:
        return is_valid_sf_express(number)

    def could_match(self, number: str) -> bool:
        """The bare 12 digits: a candidate to name, never a detection."""
        return is_sf_express_bare(number)

    def tracking_url(self, number: str) -> str:
        return fill_page(PUBLIC_PAGE + PAGE_NUMBER, number)
