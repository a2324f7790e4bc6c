"""The HTTP book's address checks, property-based: every loopback, private, link-local, shared,
multicast or unspecified address, in any spelling a resolver reads (decimal, hexadecimal, octal,
short dotted forms, IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6), is refused before a
connection is tried, unless the installation's allow-list names its network; public addresses pass.

The check is the one the book's connections go through (``_CheckedBackend.connect_tcp``: the
host resolved, then each address judged), so a refusal here is a refusal of a real request.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plainrun.books.outbound import NotAllowed, _CheckedBackend, _Deadline, resolve
from plainrun.domain.outbound import OutboundPolicy, is_public

NOT_PUBLIC_V4 = [
    ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
              "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")
]  # fmt: skip
NOT_PUBLIC_V6 = [ip_network(n) for n in ("::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "::/128")]


def _in(network: IPv4Network) -> st.SearchStrategy[IPv4Address]:
    first = int(network.network_address)
    return st.integers(first, first + network.num_addresses - 1).map(IPv4Address)


v4_not_public = st.sampled_from(NOT_PUBLIC_V4).flatmap(_in)
v6_not_public = st.sampled_from(NOT_PUBLIC_V6).flatmap(
    lambda n: st.integers(int(n.network_address), int(n.broadcast_address)).map(IPv6Address)
)


def spellings(address: IPv4Address) -> list[str]:
    """Ways to write one IPv4 address that resolvers (inet_aton, getaddrinfo) read as it."""
    n, parts = int(address), address.packed
    out = [
        str(address),
        str(n),  # 2130706433
        hex(n),  # 0x7f000001
        ".".join(f"0{b:o}" for b in parts),  # 0177.0.0.01
        ".".join(hex(b) for b in parts),  # 0x7f.0x0.0x0.0x1
        f"{parts[0]}.{n & 0xFFFFFF}",  # 127.1
        f"{parts[0]}.{parts[1]}.{n & 0xFFFF}",  # 127.0.1
        f"::ffff:{address}",  # IPv4-mapped
        f"::ffff:{n >> 16:x}:{n & 0xFFFF:x}",
        f"[::ffff:{address}]",
        f"64:ff9b::{n >> 16:x}:{n & 0xFFFF:x}",  # NAT64
        f"2002:{n >> 16:x}:{n & 0xFFFF:x}::1",  # 6to4
    ]
    if n > 1:
        out.append(f"::{address}")  # IPv4-compatible
    return out


def _refused(host: str, policy: OutboundPolicy) -> bool:
    backend = _CheckedBackend(policy, _Deadline(30))
    try:
        backend.connect_tcp(host, 80, timeout=10)
    except NotAllowed:
        return True
    return False  # pragma: no cover - it connected: the assertion reports it


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v4_not_public, st.data())
def test_every_spelling_of_an_address_that_is_not_public_is_refused(
    address: IPv4Address, data: st.DataObject
) -> None:
    host = data.draw(st.sampled_from(spellings(address)), label="spelling")
    assert _refused(host, OutboundPolicy()), host


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v6_not_public)
def test_every_ipv6_address_that_is_not_public_is_refused(address: IPv6Address) -> None:
    assert _refused(str(address), OutboundPolicy())
    assert _refused(f"[{address}]", OutboundPolicy())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1).map(IPv4Address), st.data())
def test_every_spelling_of_an_address_resolves_to_the_same_judgement(
    address: IPv4Address, data: st.DataObject
) -> None:
    host = data.draw(st.sampled_from(spellings(address)[:7]), label="spelling")
    policy = OutboundPolicy()
    assert [policy.allows(a) for a in resolve(host, 80, 5)] == [is_public(address)], host


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v4_not_public, st.data())
def test_the_allow_list_lets_through_exactly_its_networks(address: IPv4Address, data: st.DataObject) -> None:
    prefix = data.draw(st.integers(8, 32), label="prefix")
    network = ip_network(f"{address}/{prefix}", strict=False)
    policy = OutboundPolicy(allow=(network,))
    assert policy.allows(address)
    host = data.draw(st.sampled_from(spellings(address)[:7]), label="spelling")
    assert all(policy.allows(a) for a in resolve(host, 80, 5))
    outside = IPv4Address((int(network.network_address) - 1) % 2**32)
    if not is_public(outside) and outside not in network:
        assert not policy.allows(outside)


@pytest.mark.parametrize(
    "host", ["8.8.8.8", "134744072", "0x8080808", "8.526344", "64:ff9b::808:808", "2606:4700::1111"]
)
def test_a_public_address_in_any_spelling_is_allowed(host: str) -> None:
    """(An IPv4-mapped form, ``::ffff:8.8.8.8``, is refused whatever it carries.)"""
    assert not OutboundPolicy().allows(IPv6Address("::ffff:8.8.8.8"))
    assert all(OutboundPolicy().allows(a) for a in resolve(host, 80, 5))
