"""Check digits: worked examples from docs/carriers.md, and every single-character corruption."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.checkdigits import (
    dhl_express_check_digit,
    fedex_express_check_digit,
    is_sf_express_bare,
    is_valid_dhl_express,
    is_valid_fedex,
    is_valid_sf_express,
    is_valid_tnt,
    is_valid_ups_1z,
    mod10_even_x3_check_digit,
    normalise_number,
    parse_s10,
    s10_check_digit,
    ups_check_digit,
)

DIGITS = "0123456789"
ALNUM = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.mark.parametrize(
    "number", ["1Z999AA10123456784", "1Z12345E6712345677", "1z 999 aa1 0123456784"]
)
def test_published_ups_numbers_verify(number: str) -> None:
    assert is_valid_ups_1z(number)


@pytest.mark.parametrize(
    "number", ["123456789012", "986578788855", "041441760228964", "9611020987654312345672"]
)
def test_published_fedex_numbers_verify(number: str) -> None:
    assert is_valid_fedex(number)


@pytest.mark.parametrize("number", ["1234567891", "3318810025", "8487135506"])
def test_published_dhl_express_numbers_verify(number: str) -> None:
    assert is_valid_dhl_express(number)


def test_s10_examples_parse_with_their_parts() -> None:
    ems = parse_s10("EE123456785CN")
    assert ems is not None
    assert (ems.is_ems, ems.country) == (True, "CN")
    registered = parse_s10("rb 123456785 gb")
    assert registered is not None
    assert not registered.is_ems
    assert s10_check_digit("47312482") == 9


@pytest.mark.parametrize("number", ["EE123456784CN", "EE12345678CN", "1Z999AA10123456785", ""])
def test_wrong_numbers_do_not_parse_as_s10(number: str) -> None:
    assert parse_s10(number) is None


def test_normalise_strips_separators_and_upper_cases() -> None:
    assert normalise_number(" 1z-999 aa1\t0123456784 ") == "1Z999AA10123456784"


def _corruptions(number: str, alphabet: str, start: int = 0) -> list[str]:
    return [
        number[:i] + c + number[i + 1 :]
        for i in range(start, len(number))
        for c in alphabet
        if c != number[i] and (number[i].isdigit() == c.isdigit() or alphabet == ALNUM)
    ]


def _ups_value(char: str) -> int:
    return int(char) if char.isdigit() else (ord(char) - 63) % 10


def _ups_blind_spot(good: str, bad: str) -> bool:
    """The published UPS rule cannot see every change, and this says which it misses.

    A position weighted 2 ignores a change of its value by 5 (2 x 5 = 10), and a letter and a
    digit of equal value ('A' and '2') weigh the same. Everything else must be caught.
    """
    for index, (x, y) in enumerate(zip(good[2:17], bad[2:17], strict=True)):
        if x != y:
            weight = 2 if index % 2 else 1
            return weight * (_ups_value(x) - _ups_value(y)) % 10 == 0
    return False


@given(st.text(ALNUM, min_size=15, max_size=15))
def test_every_generated_ups_number_verifies_and_only_blind_spot_corruptions_do(
    body: str,
) -> None:
    number = f"1Z{body}{ups_check_digit(body)}"
    assert is_valid_ups_1z(number)
    for bad in _corruptions(number, DIGITS, start=2):
        assert is_valid_ups_1z(bad) == _ups_blind_spot(number, bad), bad


def test_ups_blind_spot_is_real_for_the_published_rule() -> None:
    # 0 -> 5 in a doubled position leaves the weighted sum unchanged modulo 10
    assert is_valid_ups_1z("1Z0000000000000000")
    assert is_valid_ups_1z("1Z0500000000000000")
    assert not is_valid_ups_1z("1Z0400000000000000")


@given(st.text(DIGITS, min_size=11, max_size=11))
def test_fedex_express_numbers_verify_and_corruptions_of_the_check_digit_fail(head: str) -> None:
    number = head + str(fedex_express_check_digit(head))
    assert is_valid_fedex(number)
    for digit in DIGITS.replace(number[-1], ""):
        assert not is_valid_fedex(number[:-1] + digit)


@given(st.text(DIGITS, min_size=14, max_size=14))
def test_fedex_ground_numbers_verify_and_reject_every_single_digit_change(head: str) -> None:
    number = head + str(mod10_even_x3_check_digit(head))
    assert is_valid_fedex(number)
    for bad in _corruptions(number, DIGITS):
        assert not is_valid_fedex(bad)


@given(st.text(DIGITS, min_size=9, max_size=9))
def test_dhl_express_numbers_verify_and_corruptions_of_the_check_digit_fail(head: str) -> None:
    number = head + str(dhl_express_check_digit(head))
    assert is_valid_dhl_express(number)
    for digit in DIGITS.replace(number[-1], ""):
        assert not is_valid_dhl_express(number[:-1] + digit)


def _s10_remainder(serial: str) -> int:
    return sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11


@given(
    st.sampled_from(["EE", "EA", "RR", "LX", "CP"]),
    st.text(DIGITS, min_size=8, max_size=8),
    st.sampled_from(["CN", "US", "GB"]),
)
def test_s10_numbers_verify_and_reject_every_serial_change_but_the_5_collision(
    service: str, serial: str, country: str
) -> None:
    """S10 maps remainders 0 and 6 both to check digit 5: the one change it cannot see."""
    number = f"{service}{serial}{s10_check_digit(serial)}{country}"
    assert parse_s10(number) is not None
    for bad in _corruptions(number[:11], DIGITS, start=2):
        bad_serial = bad[2:10]
        collision = {_s10_remainder(serial), _s10_remainder(bad_serial)} == {0, 6}
        assert (parse_s10(bad + country) is not None) == collision, bad


# --- TNT and SF Express (docs/carriers.md §9.2, §8.3) ------------------------------------


def test_tnt_check_digit_is_the_s10_rule_on_the_published_examples() -> None:
    """PyPI ``modulus11``'s doctests (18392825 -> 2, 48025347 -> 0) and 12345678 -> 5."""
    assert [s10_check_digit(s) for s in ("18392825", "48025347", "12345678")] == [2, 0, 5]
    assert is_valid_tnt("123456785")
    assert is_valid_tnt("GD123456785WW")
    assert is_valid_tnt("gd 123456785 ww")


@given(st.text(DIGITS, min_size=8, max_size=8))
def test_tnt_nine_digits_verify_and_a_wrong_check_digit_fails(serial: str) -> None:
    number = serial + str(s10_check_digit(serial))
    assert is_valid_tnt(number)
    assert is_valid_tnt(f"GD{number}WW")
    for digit in DIGITS.replace(number[-1], ""):
        assert not is_valid_tnt(serial + digit)
        assert not is_valid_tnt(f"GD{serial}{digit}WW")


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("56799360", True),  # 8 digits: no check digit to fail
        ("1234567", False),
        ("1234567850", False),
        ("GD123456785NL", False),  # a post's S10 number, not TNT's
        ("GD12345678WW", False),
        ("G1123456785WW", False),
    ],
)
def test_tnt_accepts_only_its_three_forms(number: str, valid: bool) -> None:
    assert is_valid_tnt(number) is valid


def test_the_ww_suffix_is_no_country_so_never_an_s10_number() -> None:
    """``GD123456785WW`` has the S10 shape and check digit; WW is TNT's, not a post's."""
    assert parse_s10("GD123456785WW") is None
    assert parse_s10("EE123456785WW") is None
    assert parse_s10("EE123456785CN") is not None


@pytest.mark.parametrize(
    ("number", "current", "bare"),
    [
        ("SF1402736915048", True, False),
        ("sf 1402 7369 15048", True, False),
        ("SF140273691504", False, False),  # 12 digits after SF
        ("702419385561", False, True),  # the older 12 digits: a shape only
        ("70241938556", False, False),
        ("SX1402736915048", False, False),
    ],
)
def test_sf_express_forms(number: str, current: bool, bare: bool) -> None:
    assert (is_valid_sf_express(number), is_sf_express_bare(number)) == (current, bare)
