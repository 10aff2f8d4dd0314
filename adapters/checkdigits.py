"""Tracking-number formats and check digits, so detection never guesses from length alone.

Rules (sources and worked examples in ``docs/carriers.md`` §1.5, §2.6, §3.6, §4.3, §8):

- UPS ``1Z``: 1Z + 15 alphanumerics + check; letters count as ``(ord - 63) % 10``; odd
  positions x1, even positions x2; check = (10 - sum % 10) % 10.
- FedEx Express, 12 digits: weights 3,1,7 repeating on digits 1-11; check = sum % 11 % 10.
- FedEx Ground, 15 digits, and ``96`` 22-digit labels (check over the 14 shipper+package
  digits): even positions x3, odd x1; check = (10 - sum % 10) % 10.
- DHL Express air waybill, 10 digits: check = (first nine as an integer) % 7.
- UPU S10 (EMS, registered post): 2 letters + 8-digit serial + check + 2-letter country;
  weights 8,6,4,2,3,5,9,7; check = 11 - sum % 11, where 10 -> 0 and 11 -> 5. The suffix
  ``WW`` is no country: such numbers are TNT's (below), never S10.
- TNT (docs/carriers.md §9.2): 9 digits whose last is the S10 check digit of the first
  eight; the same 9 digits between 2 letters and ``WW`` (``GD123456785WW``); or 8 digits
  with no check digit at all.
- SF Express (docs/carriers.md §9.3): ``SF`` + 13 digits. Its older bare 12 digits carry no
  check digit and are the shape of several other couriers' numbers, so they only ever make SF
  a candidate (``is_sf_express_bare``), never a detection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

_SEPARATORS = re.compile(r"[\s\-]+")
_UPS_1Z = re.compile(r"1Z[0-9A-Z]{16}")
_DIGITS = re.compile(r"[0-9]+")
_S10 = re.compile(r"([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})")
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
TNT_SUFFIX = "WW"  # TNT's two-letter tail: not an ISO country, so never an S10 number
_TNT_LETTERS = re.compile(r"[A-Z]{2}([0-9]{9})" + TNT_SUFFIX)
_SF_EXPRESS = re.compile(r"SF[0-9]{13}")


def normalise_number(number: str) -> str:
    """What customers paste has spaces, dashes and lower case; carriers want neither."""
    return _SEPARATORS.sub("", number).upper()


PAGE_NUMBER = "{number}"
"""Where the number goes in a carrier's ``page_template``."""


def fill_page(template: str, number: str) -> str:
    """A carrier's public page for ``number``: normalised, then percent-encoded."""
    return template.replace(PAGE_NUMBER, quote(normalise_number(number), safe=""))


def _ups_value(char: str) -> int:
    return int(char) if char.isdigit() else (ord(char) - 63) % 10


def ups_check_digit(body: str) -> int:
    """Check digit for the 15 characters after ``1Z``."""
    total = sum(
        _ups_value(char) * (2 if index % 2 else 1) for index, char in enumerate(body.upper())
    )
    return (10 - total % 10) % 10


def is_valid_ups_1z(number: str) -> bool:
    value = normalise_number(number)
    if not _UPS_1Z.fullmatch(value) or not value[-1].isdigit():
        return False
    return ups_check_digit(value[2:17]) == int(value[-1])


def fedex_express_check_digit(first_eleven: str) -> int:
    weights = (3, 1, 7)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(first_eleven))
    return total % 11 % 10


def mod10_even_x3_check_digit(digits: str) -> int:
    """GS1-style mod 10 used by FedEx Ground: 2nd, 4th ... digits count three times."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return (10 - total % 10) % 10


def is_valid_fedex(number: str) -> bool:
    value = normalise_number(number)
    if not _DIGITS.fullmatch(value):
        return False
    if len(value) == 12:
        return fedex_express_check_digit(value[:11]) == int(value[11])
    if len(value) == 15:
        return mod10_even_x3_check_digit(value[:14]) == int(value[14])
    if len(value) == 22 and value.startswith("96"):
        return mod10_even_x3_check_digit(value[7:21]) == int(value[21])
    return False


def dhl_express_check_digit(first_nine: str) -> int:
    return int(first_nine) % 7


def is_valid_dhl_express(number: str) -> bool:
    value = normalise_number(number)
    if len(value) != 10 or not _DIGITS.fullmatch(value):
        return False
    return dhl_express_check_digit(value[:9]) == int(value[9])


@dataclass(frozen=True, slots=True)
class S10:
    """A parsed UPU S10 item identifier, e.g. ``EE123456785CN``."""

    service: str
    serial: str
    check: str
    country: str

    @property
    def is_ems(self) -> bool:
        """Service indicators ``EA``-``EZ`` are EMS items in every post."""
        return self.service.startswith("E")


def s10_check_digit(serial: str) -> int:
    remainder = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(remainder, remainder)


def parse_s10(number: str) -> S10 | None:
    match = _S10.fullmatch(normalise_number(number))
    if match is None:
        return None
    service, serial, check, country = match.groups()
    if country == TNT_SUFFIX or s10_check_digit(serial) != int(check):
        return None
    return S10(service=service, serial=serial, check=check, country=country)


def _tnt_nine_valid(digits: str) -> bool:
    return s10_check_digit(digits[:8]) == int(digits[8])


def is_valid_tnt(number: str) -> bool:
    """A TNT consignment number in one of its three forms (see the module docstring).

    The 8-digit form has no check digit: any 8 digits pass, so the registry detects it only
    while no other carrier claims 8 digits.
    """
    value = normalise_number(number)
    if _DIGITS.fullmatch(value):
        return len(value) == 8 or (len(value) == 9 and _tnt_nine_valid(value))
    match = _TNT_LETTERS.fullmatch(value)
    return match is not None and _tnt_nine_valid(match.group(1))


def is_valid_sf_express(number: str) -> bool:
    """SF Express's current form, ``SF`` + 13 digits (no check digit is documented)."""
    return _SF_EXPRESS.fullmatch(normalise_number(number)) is not None


def is_sf_express_bare(number: str) -> bool:
    """SF Express's older 12 digits: a shape, not a proof (other couriers use it too)."""
    value = normalise_number(number)
    return len(value) == 12 and _DIGITS.fullmatch(value) is not None
