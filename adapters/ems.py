"""EMS (the UPU's Express Mail Service) tracked through 17TRACK.

EMS is a cooperative of national posts, not one carrier, and it publishes no JSON tracking
API (``docs/carriers.md`` §4.1): the items.ems.post tracker returns HTML. So this adapter
reads the 17TRACK aggregator (``adapters/_17track.py``), which merges the origin post's and
the destination post's UPU events; the status tables live in ``adapters/_17track_parse.py``.
Like every carrier module this one offers ``STATUS_TABLE``, ``status_for``,
``parse_tracking`` and ``build_request`` (17TRACK's, bound to this carrier); ``UPU_EVENTS``
too, since EMS events are UPU events.

A number is EMS when it is a valid UPU S10 identifier whose service indicator starts with
``E`` (any issuing post). China-issued items are registered with 17TRACK's "China EMS" key;
items of other posts are left to 17TRACK's detection, because the China EMS key would send
17TRACK to the wrong post.
"""

from __future__ import annotations

from urllib.parse import quote

from adapters._17track import SeventeenTrackAdapter, SeventeenTrackSettings
from adapters._17track import build_request as build_request
from adapters._17track_parse import STATUS_TABLE as STATUS_TABLE
from adapters._17track_parse import UPU_EVENTS as UPU_EVENTS
from adapters._17track_parse import CarrierParsing
from adapters.checkdigits import normalise_number, parse_s10

CODE = "ems"
# 17TRACK carrier key of China EMS (17TRACK's apicarrier.all.json; docs/carriers.md §5.5)
CHINA_EMS_KEY = 3013


class EmsSettings(SeventeenTrackSettings):
    """The shared ``RT_17TRACK_*`` settings: every 17TRACK carrier uses one 17TRACK key."""


_PARSING = CarrierParsing(CODE)
parse_tracking = _PARSING.parse_tracking
status_for = _PARSING.status_for


class EmsAdapter(SeventeenTrackAdapter):
    """EMS items of every post, via 17TRACK; see the module docstring."""

    code = CODE
    name = "EMS"
    page_template: str | None = None  # Chinese items have a page of their own

    def carrier_key_of(self, number: str) -> int | None:
        s10 = parse_s10(number)
        return CHINA_EMS_KEY if s10 is not None and s10.country == "CN" else None

    def matches(self, number: str) -> bool:
        s10 = parse_s10(number)
        return s10 is not None and s10.is_ems

    def tracking_url(self, number: str) -> str:
        """China EMS's own page for Chinese items, the EMS Cooperative's tracker otherwise."""
        value = quote(normalise_number(number), safe="")
        s10 = parse_s10(value)
        if s10 is not None and s10.country == "CN":
            return f"https://www.ems.com.cn/qps/yjcx?mailNum={value}"
        return f"https://items.ems.post/api/publicTracking/track?language=EN&itemId={value}"
