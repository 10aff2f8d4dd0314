"""China Post international mail (registered, ePacket, parcels) tracked through 17TRACK.

China Post publishes no self-service tracking API for international items
(``docs/carriers.md`` §5.1); integrators read an aggregator. This adapter reads 17TRACK
(``adapters/_17track.py``), which returns China Post's events and the destination post's in
one UPU-style stream; the status tables live in ``adapters/_17track_parse.py``. Like every
carrier module this one offers ``STATUS_TABLE``, ``status_for``, ``parse_tracking`` and
``build_request`` (17TRACK's, bound to this carrier).

A number is China Post when it is a valid UPU S10 identifier issued by China (``..CN``) with an
international non-EMS service indicator: ``R`` registered letter, ``L`` tracked letter (ePacket
items are commonly ``L?``, [?] docs/carriers.md §5.2), ``C`` parcel, ``H`` e-commerce parcel,
``V`` insured, ``U`` letter post under customs, ``M`` M-bag. ``E`` belongs to the EMS adapter,
so the two never both match; domestic/bilateral indicators and IBRS (``Q``) are not tracked
here.
"""

from __future__ import annotations

from adapters._17track import SeventeenTrackAdapter, SeventeenTrackSettings
from adapters._17track import build_request as build_request
from adapters._17track_parse import STATUS_TABLE as STATUS_TABLE
from adapters._17track_parse import CarrierParsing
from adapters.checkdigits import PAGE_NUMBER, fill_page, parse_s10

CODE = "china_post"
# 17TRACK carrier key of China Post (17TRACK's apicarrier.all.json; docs/carriers.md §5.5)
CHINA_POST_KEY = 3011
# International S10 service indicators China Post issues (first letter; docs/carriers.md
# §4.3, §5.2).
SERVICE_LETTERS = frozenset("RLCHVUM")


class ChinaPostSettings(SeventeenTrackSettings):
    """The shared ``RT_17TRACK_*`` settings: every 17TRACK carrier uses one 17TRACK key."""


_PARSING = CarrierParsing(CODE)
parse_tracking = _PARSING.parse_tracking
status_for = _PARSING.status_for


# China Post's international mail query page (English)
PUBLIC_PAGE = "https://yjcx.ems.com.cn/qps/english/yjcx?mailNo=" + PAGE_NUMBER


class ChinaPostAdapter(SeventeenTrackAdapter):
    """China Post international items, via 17TRACK; see the module docstring."""

    code = CODE
    name = "China Post"
    page_template: str | None = PUBLIC_PAGE

    def carrier_key_of(self, number: str) -> int | None:
        return CHINA_POST_KEY

    def matches(self, number: str) -> bool:
        s10 = parse_s10(number)
        return s10 is not None and s10.country == "CN" and s10.service[0] in SERVICE_LETTERS

    def tracking_url(self, number: str) -> str:
        return fill_page(PUBLIC_PAGE, number)
