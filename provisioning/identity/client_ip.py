"""The client's address behind reverse proxies, and the key its requests are counted by (pure).

One rule for the identity module (inside Synapse) and the bridge's admin page alike:
the TCP peer is the client unless it is one of our proxies (``login.trusted_proxies``);
then X-Forwarded-For is read from the right, skipping our proxies, and the first address
that is not one of them is the client. Values to its left were written by the client (an
appending proxy keeps what it was sent) and are never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Only processes on this machine (a reverse proxy, the bridge) may name the client.
DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1/128")
#: IPv6 clients are counted per /64: one home or phone gets a whole /64 to pick from.
IPV6_PREFIX = 64


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from text ("10.0.0.0/8", "2001:db8::/32", a single address)."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted proxy {value!r} is not an IP address or network") from None
    return tuple(networks)


def parse_address(text: str) -> IPAddress | None:
    """An address as written in a header or by a socket; None if it is not one.

    Accepts "[2001:db8::1]:443" and "198.51.100.7:4711" (some proxies add the port);
    IPv4-mapped IPv6 addresses become plain IPv4.
    """
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(peer: str, forwarded_for: Sequence[str], proxies: Sequence[IPNetwork]) -> str:
    """The client's address from the TCP ``peer`` and the X-Forwarded-For header values.

    Headers count only when ``peer`` is a trusted proxy. Walking from the right, each
    trusted hop hands over to the one before it; the first untrusted one is the client.
    A value that is not an address stops the walk at the last hop that wrote it.
    """
    current = parse_address(peer)
    if current is None:
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    while hops and _trusted(current, proxies):
        previous = parse_address(hops.pop())
        if previous is None:
            break
        current = previous
    return str(current)


def limit_key(address: str) -> str:
    """What per-address caps count by: the IPv4 address, or the IPv6 address's /64."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return str(parsed) if parsed is not None else address
