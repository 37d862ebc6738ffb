"""Which IP addresses an outbound request (a webhook) may reach: public unicast only, judged on the resolved
address and on any IPv4 address it embeds, unless the operator's allow-list names the host or network."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address

#: Cloud instance-metadata and platform endpoints: only an allow-list entry naming the address itself opens one.
METADATA_ADDRESSES = frozenset(
    ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle, Hetzner instance metadata
        "169.254.169.253",  # AWS VPC DNS resolver
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "169.254.170.23",  # AWS EKS pod identity agent
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "fd00:ec2::253",
        "fd00:ec2::123",
        "fd00:ec2::23",
        "168.63.129.16",  # Azure WireServer: a public address that answers only inside Azure
        "100.100.100.200",  # Alibaba Cloud instance metadata
        "192.0.0.192",  # Oracle Cloud legacy instance metadata
    )
)

#: IANA special-purpose IPv4 blocks, most specific first (the stdlib's tables differ between Python versions).
_IPV4_RANGES = tuple(
    (ip_network(net), label)
    for net, label in (
        ("0.0.0.0/32", "unspecified"),
        ("0.0.0.0/8", "this-network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)

#: IANA special-purpose IPv6 blocks that embed nothing, most specific first.
_IPV6_RANGES = tuple(
    (ip_network(net), label)
    for net, label in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001:2::/48", "benchmarking"),
        ("2001:db8::/32", "documentation"),
        ("2001::/23", "IETF protocol assignment"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment-routing"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)

_NAT64 = ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ip_network("::/96")
_HOST_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")


def _phrase(label: str) -> str:
    article = "an" if label[0] in "aeioAEIOU" or label.startswith("uns") else "a"  # "a unique-local"
    return f"{article} {label} address"


def embedded_ipv4(ip: IPAddress) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo server and client)."""
    if ip.version == 4:
        return ()
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return (low32,)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    return ()


def is_metadata(ip: IPAddress) -> bool:
    """Whether `ip` is a cloud metadata endpoint, directly or through an IPv4 address it embeds."""
    return ip in METADATA_ADDRESSES or any(inner in METADATA_ADDRESSES for inner in embedded_ipv4(ip))


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address, as a phrase ("a loopback address"); None if it is one."""
    if ip in METADATA_ADDRESSES:
        return _phrase("cloud metadata")
    if ip.version == 4:
        return _ipv4_refusal(ip)
    if ip.ipv4_mapped is not None:  # the very same destination as the IPv4 address
        return refusal(ip.ipv4_mapped)
    if ip in _NAT64:  # the translator reaches the embedded IPv4 address, which decides
        inner = IPv4Address(int(ip) & 0xFFFFFFFF)
        reason = refusal(inner)
        return f"a NAT64 address embedding {inner}, {reason}" if reason else None
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return f"an IPv4-compatible address (deprecated) embedding {IPv4Address(int(ip))}"
    if ip.sixtofour is not None:
        return _tunnel_refusal("6to4", (ip.sixtofour,))
    if ip.teredo is not None:
        return _tunnel_refusal("Teredo", ip.teredo)
    return _ipv6_refusal(ip)


def _ipv4_refusal(ip: IPv4Address) -> str | None:
    for network, label in _IPV4_RANGES:
        if ip in network:
            return _phrase(label)
    return _stdlib_refusal(ip)


def _ipv6_refusal(ip: IPv6Address) -> str | None:
    for network, label in _IPV6_RANGES:
        if ip in network:
            return _phrase(label)
    return _stdlib_refusal(ip)


def _tunnel_refusal(kind: str, inner: tuple[IPv4Address, ...]) -> str:
    # Deprecated tunnels are refused even to public hosts: a relay, not the named host, decides the path.
    for address in inner:
        reason = refusal(address)
        if reason:
            return f"a {kind} address embedding {address}, {reason}"
    return f"a {kind} tunnel address (deprecated)"


def _stdlib_refusal(ip: IPAddress) -> str | None:
    for flag, label in (
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
        ("is_link_local", "link-local"),
        ("is_loopback", "loopback"),
    ):
        if getattr(ip, flag):
            return _phrase(label)
    return None if ip.is_global else _phrase("non-public")


@dataclass(frozen=True)
class AllowList:
    """The operator's exceptions: host names, networks and single addresses that requests may reach anyway.

    A metadata address opens only through an entry naming that one address, never through a host or network.
    """

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPv4Network | IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Read entries such as "127.0.0.1", "10.20.0.0/16", "fd12::/64", "hooks.internal"; ValueError names a bad one."""
        parsed = [parse_entry(entry) for entry in entries]
        return cls(
            frozenset(value for value in parsed if isinstance(value, str)),
            tuple(value for value in parsed if not isinstance(value, str)),
        )

    def __bool__(self) -> bool:
        return bool(self.hosts or self.networks)

    def opens(self, host: str, ip: IPAddress) -> bool:
        """Whether an entry lets a request for `host` reach `ip` although it is not public."""
        if any(network.num_addresses == 1 and ip in network for network in self.networks):
            return True
        if is_metadata(ip):
            return False
        return normalize_host(host) in self.hosts or any(ip in network for network in self.networks)

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """Why a request for `host` may not reach `ip` (a phrase), or None if it may."""
        return None if self.opens(host, ip) else refusal(ip)


def parse_entry(entry: str) -> str | IPv4Network | IPv6Network:
    """One allow-list entry as a network or a normalised host name; ValueError says what is wrong."""
    text = entry.strip() if isinstance(entry, str) else ""
    if not text:
        raise ValueError(f"entry {entry!r} is empty; write a host name, an address or a CIDR such as 10.0.0.0/8")
    try:
        return ip_network(text, strict=True)
    except ValueError as exc:
        if "/" in text or ":" in text or re.fullmatch(r"[0-9.]+", text):
            raise ValueError(f"entry {text!r} is not a valid address or CIDR ({exc})") from None
    name = normalize_host(text)
    if len(name) > 253 or not _HOST_NAME.fullmatch(name):
        raise ValueError(
            f"entry {text!r} is not a host name, address or CIDR; international names go in their xn-- form"
        )
    return name


def normalize_host(host: str) -> str:
    """A host name as compared with allow-list entries: lower case, without the root's trailing dot."""
    return host.lower().removesuffix(".")
