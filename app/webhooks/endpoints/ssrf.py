"""Which webhook URLs we send to: the SSRF guard, applied when an endpoint is saved and again
before every send.

A URL passes when its scheme is https (http only with ``RT_WEBHOOK_ALLOW_HTTP``), it carries
no user name or password, its port is allowed, and **every** address its host resolves to is
globally routable: not loopback, private, link-local, shared (CGNAT), reserved, multicast,
unspecified or a cloud metadata address, with IPv4 inside IPv6 (mapped, 6to4, Teredo) judged
by the IPv4 address it carries. A name that does not resolve is refused (fail closed).

The caller connects to the address that was checked (``Target.request_url``) and sends the
real name as ``Host`` and TLS SNI, so a DNS answer that changes between check and connect
cannot redirect the request. ``RT_WEBHOOK_ALLOW_PRIVATE_NETWORKS`` lifts the address and
port checks for development and tests; metadata, multicast and unspecified addresses stay
refused even then.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import httpx
import structlog

from app.core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the addresses it resolves to; raises OSError when it does not resolve."""

log = structlog.get_logger("webhooks.ssrf")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack instance metadata
        "169.254.170.2/32",  # AWS ECS task metadata
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# documentation ranges the standard library may still call global (RFC 9637: 3fff::/20)
_DOCUMENTATION = (ipaddress.ip_network("2001:db8::/32"), ipaddress.ip_network("3fff::/20"))


class UrlRefused(ValueError):
    """The URL may not receive webhooks; the message says why (shown to the API caller)."""


@dataclass(frozen=True, slots=True)
class Policy:
    allow_http: bool = False
    allow_private_networks: bool = False
    allowed_ports: frozenset[int] = frozenset({443, 8443, 80, 8080})

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            allow_http=settings.webhook_allow_http,
            allow_private_networks=settings.webhook_allow_private_networks,
            allowed_ports=frozenset(settings.webhook_allowed_ports),
        )


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the checked address to connect to."""

    url: httpx.URL
    host: str
    address: IPAddress

    @property
    def request_url(self) -> httpx.URL:
        return self.url.copy_with(host=str(self.address))

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def sni_hostname(self) -> str | None:
        """The name the TLS certificate must match (None for an IP-literal URL)."""
        if self.url.scheme != "https" or _literal(self.host) is not None:
            return None
        return self.host


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    return [address for address in found if address is not None]


def address_refusal(ip: IPAddress, *, allow_private_networks: bool = False) -> str | None:
    """Why we will not connect to ``ip``, or None when we may. Pure."""
    for inner in _embedded_ipv4(ip):
        reason = address_refusal(inner, allow_private_networks=allow_private_networks)
        if reason is not None:
            return f"{reason} (inside {ip})"
    if any(ip in net for net in _ALWAYS_REFUSED if net.version == ip.version):
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        return "a multicast or broadcast address"
    if allow_private_networks:
        return None
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "a shared (CGNAT) address"),
        (
            isinstance(ip, ipaddress.IPv6Address) and any(ip in n for n in _DOCUMENTATION),
            "a documentation address",
        ),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a globally routable address"),
    )
    return next((reason for refused, reason in checks if refused), None)


@lru_cache(maxsize=4096)
def check_url(raw: str, policy: Policy) -> httpx.URL:
    """Everything that can be judged without DNS: scheme, credentials, host name, port.

    Pure, so remembered per (URL, policy); only the DNS part is redone before every send.
    """
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from None
    schemes = {"https", "http"} if policy.allow_http else {"https"}
    if url.scheme not in schemes:
        allowed = " or ".join(sorted(schemes))
        raise UrlRefused(f"the scheme must be {allowed}, not {url.scheme or 'missing'!r}")
    if url.userinfo:
        raise UrlRefused("a user name or password in the URL is not allowed")
    host = url.raw_host.decode("ascii").rstrip(".").lower()
    if not host:
        raise UrlRefused("the URL has no host")
    port = url.port or _DEFAULT_PORTS[url.scheme]
    if not policy.allow_private_networks:
        if port not in policy.allowed_ports:
            raise UrlRefused(f"port {port} is not allowed; allowed: {sorted(policy.allowed_ports)}")
        if host == "localhost" or host.endswith(".localhost"):
            raise UrlRefused(f"{host} is a loopback name")
    return url


def judge_addresses(
    host: str, addresses: Iterable[str], policy: Policy, *, literal: bool = False
) -> IPAddress:
    """The first address, if every one of them may be reached; else refused.

    For a name, the refusal never says what it resolved to or why (that would make endpoint
    creation a DNS oracle for the private network); operators find it in the log.
    """
    checked: list[IPAddress] = []
    for raw in addresses:
        ip = ipaddress.ip_address(raw)
        reason = address_refusal(ip, allow_private_networks=policy.allow_private_networks)
        if reason is not None:
            if literal:
                raise UrlRefused(f"{ip} is {reason}")
            log.warning("webhook address refused", host=host, address=str(ip), reason=reason)
            raise UrlRefused(f"{host} resolves to an address we do not send webhooks to")
        checked.append(ip)
    if not checked:
        raise UrlRefused(f"{host} does not resolve")
    return checked[0]


@lru_cache(maxsize=4096)
def needs_resolution(raw: str) -> bool:
    """False when the host is an IP literal: checking it does no I/O."""
    try:
        host = httpx.URL(raw).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return False
    return _literal(host) is None


def resolve_target(raw: str, policy: Policy, resolver: Resolver = system_resolver) -> Target:
    """Check ``raw`` completely (blocking: it resolves the host). Raises ``UrlRefused``."""
    url = check_url(raw, policy)
    host = url.raw_host.decode("ascii").rstrip(".").lower()
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolver(host, url.port or _DEFAULT_PORTS[url.scheme])
        except (OSError, UnicodeError) as exc:
            raise UrlRefused(f"{host} does not resolve ({exc})") from None
    address = judge_addresses(host, addresses, policy, literal=literal is not None)
    return Target(url=url, host=host, address=address)
