"""Outbound HTTP to portals (feeds, redirects, lead images), kept off our own networks.

Portals choose the URLs the bridge fetches, so a URL, a redirect or an image may point at
loopback, the cloud's metadata address or the office network (SSRF). Every connection of
the portal session goes through two checks of one ``AddressPolicy``:

- a resolver that drops refused addresses from every DNS answer (a name answering only
  refused addresses fails as "address refused");
- a socket factory that checks the very address about to be connected (IP literals skip
  DNS in aiohttp; and what is checked is what is connected: no rebinding gap).

Redirects open new connections through the same connector, so every hop is checked.
Refused: not globally routable per IANA's special-purpose registries (loopback, private,
CGNAT 100.64.0.0/10, link-local, unique-local, site-local, multicast, unspecified,
reserved, documentation, benchmarking, Teredo, IPv4-compatible), and the IPv4-mapped,
NAT64 and 6to4 forms of refused IPv4 addresses. ``bridge.allow_private_addresses`` lifts the check
(tests, on-premise portals); ``bridge.allowed_networks`` lets named networks through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Not reachable on the Internet, or not meant to be, beyond what ``is_global`` says
#: (Python's tables vary by version; these are IANA's special-purpose registries).
# fmt: off
REFUSED_V4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
))
REFUSED_V6 = tuple(ipaddress.IPv6Network(n) for n in (
    "::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:2::/48",
    "2001:10::/28", "2001:db8::/32", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8",
))
# fmt: on
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class ForbiddenAddress(OSError):
    """A connection the policy refused (the message, with the address, is for logs)."""


def refused_in(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) is a refusal by the policy."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ForbiddenAddress) or "address refused" in str(exc):
            return True
        exc = getattr(exc, "os_error", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


def describe(exc: BaseException) -> str:
    """One line for the log: what failed, with the host, port and OS error."""
    inner = getattr(exc, "os_error", None)
    if inner is not None:
        return f"{getattr(exc, 'host', '?')}:{getattr(exc, 'port', '?')}: {inner}"
    return str(exc) or type(exc).__name__


class AddressPolicy:
    """Which addresses the bridge may connect to for portals."""

    def __init__(self, *, allow_private: bool = False, allowed_networks: str = "") -> None:
        self.allow_private = allow_private
        self.allowed = tuple(parse_networks(allowed_networks))

    def problem(self, address: str) -> str | None:
        """Why ``address`` (an IP literal) is refused, or None when it may be connected."""
        if self.allow_private:
            return None
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        if any(ip in net for net in self.allowed if net.version == ip.version):
            return None
        return _problem(ip)


def _problem(ip: IPAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_v4(ip)
        if embedded is not None:
            inner = _problem(embedded)
            return f"{inner} {embedded} inside" if inner else None
        if any(ip in net for net in REFUSED_V6):
            return "special-purpose IPv6 address"
    elif any(ip in net for net in REFUSED_V4):
        return "special-purpose IPv4 address"
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast:
        return "private, loopback, link-local or multicast address"
    if ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "reserved or non-global address"
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4
    (2002:aabb:ccdd::) address; the deprecated compatible and translated forms are refused
    whole (``REFUSED_V6``)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def parse_networks(text: str) -> Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma- or space-separated networks ("10.20.0.0/16, fd12::/64"); ValueError if not."""
    for part in text.replace(",", " ").split():
        yield ipaddress.ip_network(part, strict=False)


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and keeps only the addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self.inner.resolve(host, port, family)
        kept = [a for a in answers if self.policy.problem(a["host"]) is None]
        if not kept:
            refused = ", ".join(sorted({a["host"] for a in answers}))
            raise ForbiddenAddress(f"address refused: {host} resolves to {refused}")
        return kept

    async def close(self) -> None:
        await self.inner.close()


def guarded_socket_factory(policy: AddressPolicy):
    """aiohttp's ``socket_factory``: the last check, on the address about to be connected."""

    def factory(addr_info: tuple) -> socket.socket:
        family, type_, proto, _, address = addr_info
        problem = policy.problem(str(address[0]))
        if problem is not None:
            raise ForbiddenAddress(f"address refused: {address[0]} ({problem})")
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def portal_session(
    policy: AddressPolicy, *, limit: int, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """The session for everything portals point at (no cookies, no proxy from the env)."""
    connector = aiohttp.TCPConnector(
        limit=limit,
        ttl_dns_cache=300,
        resolver=GuardedResolver(policy, resolver),
        socket_factory=guarded_socket_factory(policy),
    )
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
    )
