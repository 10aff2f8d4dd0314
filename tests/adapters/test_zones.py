"""Placing offset-less carrier times: which zone each kind of place lands in, and how."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pycountry
import pytest

from adapters import zones
from adapters.base import Location, TimeZoneHow
from adapters.dhl_parse import location_of
from adapters.zones import (
    GEONAMES_ADMIN1,
    admin1_for,
    find_town,
    normalise,
    place,
    town_names,
    zip_zone,
    zone_at,
)

WINTER = datetime(2024, 1, 15, 12, 0)
SUMMER = datetime(2024, 7, 15, 12, 0)


def dhl(locality: str) -> Location:
    return location_of({"address": {"addressLocality": locality}})


@pytest.mark.parametrize(
    ("where", "local", "zone", "how"),
    [
        # DHL Express localities seen on real answers
        (dhl("CINCINNATI HUB, OH - USA"), SUMMER, "America/New_York", "state"),
        (dhl("SOUTHERN ALBERTA, AB - CANADA"), SUMMER, "America/Edmonton", "state"),
        (dhl("NEW YORK CITY GATEWAY, NY - USA"), WINTER, "America/New_York", "state"),
        (dhl("CALGARY"), WINTER, "America/Edmonton", "city"),
        (dhl("LEIPZIG - GERMANY"), SUMMER, "Europe/Berlin", "country"),
        # a state with several zones: the town decides, else where most people live
        (dhl("EL PASO, TX - USA"), SUMMER, "America/Denver", "city"),
        (dhl("HOUSTON, TX - USA"), SUMMER, "America/Chicago", "city"),
        (dhl("NOWHERE HUB, TX - USA"), SUMMER, "America/Chicago", "state"),
        (Location(city="LOUISVILLE", region="KY", country="US"), SUMMER,
         "America/Kentucky/Louisville", "city"),
        # one offset "at that moment": the Navajo Nation keeps summer time, Phoenix does not
        (Location(city="TUBA CITY", region="AZ", country="US"), SUMMER, "America/Denver", "city"),
        (Location(city="TUBA CITY", region="AZ", country="US"), WINTER, "America/Phoenix",
         "state"),
        # a town without its state: the most populous of that name in the country
        (dhl("TORONTO GATEWAY - CANADA"), SUMMER, "America/Toronto", "city"),
        (dhl("ST. LOUIS - USA"), SUMMER, "America/Chicago", "city"),
        (Location(city="SAINT LOUIS", country="US"), SUMMER, "America/Chicago", "city"),
        (Location(city="Montréal", country="CA"), SUMMER, "America/Toronto", "city"),
        # provinces by name and in the numbered GeoNames countries
        (Location(region="Alberta", country="CA"), SUMMER, "America/Edmonton", "state"),
        (Location(region="SP", country="BR"), SUMMER, "America/Sao_Paulo", "state"),
        (Location(city="BROKEN HILL", region="NSW", country="AU"), WINTER,
         "Australia/Broken_Hill", "city"),
        # countries with one offset; China has one legal time
        (Location(country="JP"), SUMMER, "Asia/Tokyo", "country"),
        (Location(city="URUMQI", country="CN"), SUMMER, "Asia/Shanghai", "country"),
        # a US ZIP code is the most precise of all
        (Location(city="BOWLING GREEN", region="KY", postal_code="42101", country="US"), SUMMER,
         "America/Chicago", "postal"),
        (Location(region="TX", postal_code="79901-1234", country="US"), SUMMER, "America/Denver",
         "postal"),
    ],
)  # fmt: skip
def test_each_place_lands_in_its_zone(
    where: Location, local: datetime, zone: str, how: TimeZoneHow
) -> None:
    found = zone_at(where, local)
    assert found is not None
    assert (found[0].key, found[1]) == (zone, how)


@pytest.mark.parametrize(
    "where",
    [
        Location(),
        Location(country="US"),  # several offsets and nothing narrower
        dhl("SOMEWHERE - CANADA"),
        Location(city="UNKNOWN FACILITY"),
        Location(region="ZZ", country="US"),
    ],
)
def test_places_that_name_no_zone_find_none(where: Location) -> None:
    assert zone_at(where, SUMMER) is None


NYC = Location(city="NEW YORK", region="NY", country="US")


@pytest.mark.parametrize(
    ("where", "destination", "expected"),
    [
        # an unknown place in a country of several zones: the destination's zone
        (Location(city="UNKNOWN FACILITY", country="US"), NYC,
         (datetime(2024, 7, 15, 16, tzinfo=UTC), "destination")),
        # no place at all: the destination's, here a country with one offset
        (Location(), Location(country="DE"),
         (datetime(2024, 7, 15, 10, tzinfo=UTC), "destination")),
        # the destination in another country says nothing about this event: UTC
        (Location(city="UNKNOWN FACILITY", country="CA"), NYC,
         (datetime(2024, 7, 15, 12, tzinfo=UTC), "utc")),
        # a destination of several zones and no town: UTC
        (Location(), Location(country="US"), (datetime(2024, 7, 15, 12, tzinfo=UTC), "utc")),
        # nothing at all: UTC
        (Location(), None, (datetime(2024, 7, 15, 12, tzinfo=UTC), "utc")),
        # the place itself wins over the destination
        (Location(city="HOUSTON", region="TX", country="US"), NYC,
         (datetime(2024, 7, 15, 17, tzinfo=UTC), "city")),
    ],
)  # fmt: skip
def test_the_destination_is_used_only_when_the_place_names_nothing_better(
    where: Location, destination: Location | None, expected: tuple[datetime, str]
) -> None:
    assert place(SUMMER, where, destination=destination) == expected


def test_a_time_with_its_own_offset_keeps_it_whatever_the_place() -> None:
    moment = datetime(2024, 7, 15, 12, tzinfo=timezone(timedelta(hours=-4)))
    placed = place(moment, Location(city="CALGARY", region="AB", country="CA"))
    assert placed == (datetime(2024, 7, 15, 16, tzinfo=UTC), "offset")


def test_a_town_named_without_a_country_prefers_the_destination_country() -> None:
    anywhere = find_town("SYDNEY")
    assert anywhere is not None
    assert anywhere.zone == "Australia/Sydney"
    town = find_town("SYDNEY", hints=("CA",))
    assert town is not None
    assert (town.country, town.zone) == ("CA", "America/Glace_Bay")


def test_a_small_town_named_without_a_country_needs_the_destination_country() -> None:
    assert find_town("TUBA CITY") is None  # 8,600 people: too small to guess worldwide
    town = find_town("TUBA CITY", hints=("US",))
    assert town is not None
    assert town.zone == "America/Denver"


def test_same_town_names_in_several_states_are_told_apart_by_the_state() -> None:
    def zone(state: str) -> str | None:
        town = find_town("SPRINGFIELD", country="US", admin1=state)
        return town.zone if town else None

    assert (zone("IL"), zone("MA"), zone("OR")) == (
        "America/Chicago",
        "America/New_York",
        "America/Los_Angeles",
    )


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("NEW YORK CITY GATEWAY", ["new york city gateway", "new york city"]),
        ("CINCINNATI HUB", ["cincinnati hub", "cincinnati"]),
        ("ZURICH - UNTERENGSTRINGEN", ["zurich unterengstringen", "zurich", "unterengstringen"]),
        ("SERVICE AREA", ["service area"]),
    ],
)
def test_facility_words_are_dropped_after_the_whole_name_is_tried(
    text: str, names: list[str]
) -> None:
    assert list(town_names(text)) == names


def test_spellings_of_one_town_are_made_equal() -> None:
    assert normalise("St. Louis") == normalise("SAINT LOUIS") == "st louis"
    assert normalise("FT WORTH") == normalise("Fort Worth")
    assert normalise("São Paulo") == "sao paulo"
    assert normalise("Coeur d'Alene") == normalise("COEUR DALENE")


@pytest.mark.parametrize(
    ("country", "region", "expected"),
    [
        ("US", "oh", "OH"),
        ("US", "Texas", "TX"),
        ("CA", "AB", "01"),
        ("CA", "QUEBEC", "10"),
        ("MX", "CMX", "09"),
        ("AU", "New South Wales", "02"),
        ("US", "ZZ", None),
        ("DE", "SN", None),  # one offset: states are not needed there
        (None, "OH", None),
    ],
)
def test_states_and_provinces_by_code_or_name(
    country: str | None, region: str, expected: str | None
) -> None:
    assert admin1_for(country, region) == expected


@pytest.mark.parametrize("country", sorted(GEONAMES_ADMIN1))
def test_every_mapped_province_is_a_real_iso_code_with_geonames_towns(country: str) -> None:
    table = GEONAMES_ADMIN1[country]
    iso = {str(s.code) for s in pycountry.subdivisions if s.country_code == country}
    assert {f"{country}-{code}" for code in table} <= iso
    assert len(set(table.values())) == len(table)  # no two provinces share a GeoNames code
    states = zones.atlas().states
    assert all((country, admin1) in states for admin1 in table.values())


@pytest.mark.parametrize(
    ("country", "region", "city"),
    [
        ("CA", "ON", "Toronto"),
        ("CA", "BC", "Vancouver"),
        ("CA", "NL", "St. John's"),
        ("AU", "NSW", "Sydney"),
        ("AU", "WA", "Perth"),
        ("BR", "SP", "São Paulo"),
        ("BR", "AM", "Manaus"),
        ("BR", "PE", "Recife"),
        ("MX", "CMX", "Mexico City"),
        ("MX", "CHH", "Ciudad Juárez"),
        ("MX", "COA", "Torreón"),
        ("MX", "NLE", "Monterrey"),
    ],
)
def test_mapped_provinces_hold_their_capitals_or_largest_towns(
    country: str, region: str, city: str
) -> None:
    admin1 = admin1_for(country, region)
    assert admin1 is not None
    assert find_town(city, country=country, admin1=admin1) is not None


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        ("07470", "America/New_York"),
        ("07470-1234", "America/New_York"),
        ("79901", "America/Denver"),
        ("00000", None),
        ("ABCDE", None),
        ("1234", None),
    ],
)
def test_us_zip_codes(code: str, zone: str | None) -> None:
    assert zip_zone(code) == zone
