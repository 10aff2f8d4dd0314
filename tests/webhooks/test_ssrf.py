"""The SSRF rules as pure functions: which URLs and addresses we refuse, and why."""

from __future__ import annotations

import ipaddress

import pytest

from app.webhooks.endpoints.ssrf import (
    Policy,
    UrlRefused,
    address_refusal,
    check_url,
    judge_addresses,
    resolve_target,
)
from tests.webhooks.conftest import FakeDns

STRICT = Policy()
DEV = Policy(allow_http=True, allow_private_networks=True)
PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "0.0.0.0",  # noqa: S104  (an address to refuse, not to bind)
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "169.254.1.1",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "fd00:ec2::254",
        "fc00::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ],
)
def test_special_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111"])
def test_globally_routable_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "224.0.0.1", "::ffff:0.0.0.0"],  # noqa: S104
)
def test_metadata_and_unspecified_stay_refused_in_development(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private_networks=True)


def test_private_networks_pass_in_development_only() -> None:
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allow_private_networks=True) is None
    assert address_refusal(ipaddress.ip_address("10.1.2.3"), allow_private_networks=True) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", "scheme must be https"),
        ("ftp://hooks.example.com/", "scheme must be https"),
        ("gopher://hooks.example.com/", "scheme must be https"),
        ("file:///etc/passwd", "scheme must be https"),
        ("https://user:pw@hooks.example.com/", "user name or password"),
        ("https://hooks.example.com:25/", "port 25 is not allowed"),
        ("https://hooks.example.com:6379/", "port 6379 is not allowed"),
        ("https://localhost/", "loopback name"),
        ("https://LOCALHOST./", "loopback name"),
        ("https://foo.localhost/", "loopback name"),
        ("https:///nohost", "no host"),
        ("not a url", "scheme must be https"),
    ],
)
def test_urls_refused_before_any_lookup(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused, match=reason):
        check_url(url, STRICT)


def test_every_answer_must_be_routable() -> None:
    with pytest.raises(UrlRefused, match=r"mixed\.example resolves to an address we do not send"):
        judge_addresses("mixed.example", [PUBLIC, "10.0.0.7"], STRICT)
    assert str(judge_addresses("ok.example", [PUBLIC], STRICT)) == PUBLIC


def test_a_refused_name_never_says_what_it_resolved_to() -> None:
    """Otherwise creating an endpoint would map the private network (a DNS oracle)."""
    with pytest.raises(UrlRefused) as refused:
        resolve_target("https://inside.example/", STRICT, FakeDns({"inside.example": ["10.1.2.3"]}))
    assert "10.1.2.3" not in str(refused.value)
    assert "private" not in str(refused.value)


def test_an_address_written_in_the_url_is_named_with_its_reason() -> None:
    with pytest.raises(UrlRefused, match=r"10\.1\.2\.3 is a private address"):
        resolve_target("https://10.1.2.3/", STRICT, FakeDns({}))


@pytest.mark.parametrize("address", ["3fff::1", "3fff:fff:ffff::1", "2001:db8::7"])
def test_ipv6_documentation_ranges_are_refused(address: str) -> None:
    reason = address_refusal(ipaddress.ip_address(address), allow_private_networks=False)
    assert reason == "a documentation address"


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UrlRefused, match="does not resolve"):
        resolve_target("https://nowhere.example/", STRICT, FakeDns({}))
    with pytest.raises(UrlRefused, match="does not resolve"):
        resolve_target("https://empty.example/", STRICT, FakeDns({"empty.example": []}))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://127.1/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://0.0.0.0/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://10.1.2.3/",
        "https://172.16.0.1/",
        "https://192.168.0.1/",
        "https://100.64.1.1/",
    ],
)
def test_numeric_spellings_of_internal_addresses_are_refused(url: str) -> None:
    # the real resolver turns 127.1, 2130706433 and 0x7f000001 into 127.0.0.1 without DNS
    with pytest.raises(UrlRefused):
        resolve_target(url, STRICT)


def test_the_checked_address_is_the_one_to_connect_to() -> None:
    dns = FakeDns({"hooks.example.com": [PUBLIC]})

    target = resolve_target("https://hooks.example.com:8443/rt?x=1", STRICT, dns)

    assert str(target.request_url) == f"https://{PUBLIC}:8443/rt?x=1"
    assert target.host_header == "hooks.example.com:8443"
    assert target.sni_hostname == "hooks.example.com"


def test_development_allows_a_receiver_on_loopback() -> None:
    target = resolve_target("http://127.0.0.1:40123/hook", DEV)

    assert str(target.request_url) == "http://127.0.0.1:40123/hook"
    assert target.sni_hostname is None
