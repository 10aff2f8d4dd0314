"""TNT (now part of FedEx) tracked through 17TRACK.

We found no public self-service TNT tracking API we could build on, and 17TRACK, which the
project already reads for EMS and China Post, tracks TNT consignments under its carrier key
100004 ("TNT", tnt.com; ``docs/carriers.md`` §8.1). So this adapter reads 17TRACK
(``adapters/_17track.py``) and sends that key with every number; the status tables live in
``adapters/_17track_parse.py``. Like every carrier module this one offers ``STATUS_TABLE``,
``status_for``, ``parse_tracking`` and ``build_request`` (17TRACK's, bound to this carrier).

A number is TNT's (``adapters.checkdigits.is_valid_tnt``, §8.2) when it is 9 digits whose last
is the UPU S10 check digit of the first eight; the same 9 digits between two letters and
``WW`` (``GD123456785WW``: S10-shaped, but ``WW`` is no country, so TNT's before any post's);
or 8 digits, which carry no check digit and so are TNT's only while no other carrier claims
the number. 17TRACK lists national TNT entries too (TNT Australia 100200, Italy 100065,
France 100241): a parcel handled by one of those is registered as ``17track:<key>``.
"""

from __future__ import annotations

from adapters._17track import SeventeenTrackAdapter
from adapters._17track import build_request as build_request
from adapters._17track_parse import STATUS_TABLE as STATUS_TABLE
from adapters._17track_parse import CarrierParsing
from adapters.base import Network
from adapters.checkdigits import PAGE_NUMBER, fill_page, is_valid_tnt

CODE = "tnt"
# 17TRACK carrier key of TNT (17TRACK's apicarrier.all.json; docs/carriers.md §9.1)
TNT_KEY = 100004


_PARSING = CarrierParsing(CODE)
parse_tracking = _PARSING.parse_tracking
status_for = _PARSING.status_for


# TNT's public tracking page, searching by consignment number
PUBLIC_PAGE = (
    "https://www.tnt.com/express/en_gc/site/shipping-tools/tracking.html"
    "?searchType=con&cons=" + PAGE_NUMBER
)


class TntAdapter(SeventeenTrackAdapter):
    """TNT consignments, via 17TRACK; see the module docstring."""

    code = CODE
    name = "TNT"
    page_template: str | None = PUBLIC_PAGE
    network: Network = "express"

    def carrier_key_of(self, number: str) -> int | None:
        return TNT_KEY

    def matches(self, number: str) -> bool:
        return is_valid_tnt(number)

    def tracking_url(self, number: str) -> str:
        return fill_page(PUBLIC_PAGE, number)
