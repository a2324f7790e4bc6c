"""Outbound requests (the HTTP book, later webhooks): which addresses a process may reach, and the
bounds of one request.

Only public unicast addresses are reached by default. Refused: loopback, private, shared (CGNAT),
link-local, multicast, unspecified, reserved, documentation and benchmarking ranges, and every
IPv6 form that carries one of those IPv4 addresses inside it (IPv4-mapped ``::ffff:127.0.0.1``,
IPv4-compatible ``::127.0.0.1``, NAT64 ``64:ff9b::7f00:1``, 6to4 ``2002:7f00:1::``, Teredo). The
check is made on the addresses a name resolves to, not on the name, so every spelling of an
address (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``, a DNS name that resolves to
loopback) meets the same rule. An installation's allow-list (``PLAINRUN_OUTBOUND_ALLOW``) names
networks that may be reached all the same.

Pure: the resolving and connecting are the client's (``plainrun.books.outbound``).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plainrun.settings import Settings


Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

#: Special-purpose ranges (IANA's IPv4 and IPv6 special-purpose registries) that are never public,
#: checked beside ``ipaddress``'s own flags so that the rule does not depend on Python's patch level.
NOT_PUBLIC: tuple[Network, ...] = tuple(
    ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::/96",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ip_network("64:ff9b::/96")
_COMPATIBLE = ip_network("::/96")


@dataclass(frozen=True)
class OutboundPolicy:
    """What one outbound request may do: the networks allowed beyond the public ones, its time in
    all (``timeout_s``, which a process may lower or raise up to ``max_timeout_s``), the time to
    connect, the largest response and the redirects it follows."""

    allow: tuple[Network, ...] = ()
    timeout_s: float = 30.0
    max_timeout_s: float = 300.0
    connect_timeout_s: float = 10.0
    max_response_bytes: int = 10_000_000
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(
            allow=settings.outbound_networks,
            timeout_s=settings.outbound_timeout_s,
            max_timeout_s=settings.outbound_max_timeout_s,
            connect_timeout_s=settings.outbound_connect_timeout_s,
            max_response_bytes=settings.outbound_max_response_bytes,
            max_redirects=settings.outbound_max_redirects,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "allow": [str(n) for n in self.allow],
            "timeout_s": self.timeout_s,
            "max_timeout_s": self.max_timeout_s,
            "connect_timeout_s": self.connect_timeout_s,
            "max_response_bytes": self.max_response_bytes,
            "max_redirects": self.max_redirects,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> OutboundPolicy:
        allow = data.get("allow") or []
        assert isinstance(allow, list)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "allow"}
        return cls(allow=tuple(ip_network(str(n), strict=False) for n in allow), **known)  # type: ignore[arg-type]

    def timeout(self, asked: float | None) -> float:
        """The time in all of a request for which a process asked ``asked`` seconds (None: the default)."""
        seconds = self.timeout_s if asked is None else asked
        return min(max(seconds, 0.1), self.max_timeout_s)

    def allows(self, address: Address) -> bool:
        """Whether a request may connect to ``address`` (after name resolution)."""
        if any(address in network for network in self.allow if network.version == address.version):
            return True
        return is_public(address)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: Address) -> bool:
    """A public unicast address: none of the special-purpose ranges, and for an IPv6 address that
    carries an IPv4 one, that one public too."""
    if isinstance(address, IPv6Address):
        if address.scope_id:
            return False
        inner = embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
        if address in _NAT64 and inner is not None:
            return True  # a NAT64 form of a public IPv4 address reaches that address
    if any(address in network for network in NOT_PUBLIC if network.version == address.version):
        return False
    flags = (
        address.is_private,
        address.is_loopback,
        address.is_link_local,
        address.is_multicast,
        address.is_unspecified,
        address.is_reserved,
    )
    return address.is_global and not any(flags)


def parse_address(text: str) -> Address | None:
    """An address as a resolver returns it (``fe80::1%eth0`` included), or None."""
    try:
        return ip_address(text)
    except ValueError:
        return None
