"""The outbound address policy without a network: every special-purpose block is refused, every IPv6 form that
embeds a non-public IPv4 address is refused, public unicast passes, and the allow-list opens only what it names
(metadata addresses only when named one by one)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from wellqueue_tui.address_policy import METADATA_ADDRESSES, AllowList, embedded_ipv4, is_metadata, parse_entry, refusal
from wellqueue_tui.settings import Settings, SettingsError, load_settings

from .conftest import fuzz_settings, ran

pytestmark = pytest.mark.security

# --- fixed cases: one per block, plus the gaps found in review ------------------------------------------


@pytest.mark.parametrize(
    ("address", "phrase"),
    [
        ("0.0.0.0", "an unspecified address"),
        ("0.1.2.3", "a this-network address"),
        ("10.0.0.1", "a private address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("127.0.0.1", "a loopback address"),
        ("127.255.255.254", "a loopback address"),
        ("169.254.1.1", "a link-local address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.0.0.8", "an IETF protocol assignment address"),
        ("192.0.2.1", "a documentation address"),
        ("192.88.99.1", "a 6to4 relay anycast address"),
        ("192.168.1.20", "a private address"),
        ("198.18.0.1", "a benchmarking address"),
        ("198.19.255.255", "a benchmarking address"),
        ("198.51.100.7", "a documentation address"),
        ("203.0.113.9", "a documentation address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a broadcast address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("168.63.129.16", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("::", "an unspecified address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("::127.0.0.1", "an IPv4-compatible address (deprecated) embedding 127.0.0.1"),
        ("::8.8.8.8", "an IPv4-compatible address (deprecated) embedding 8.8.8.8"),
        ("64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254, a cloud metadata address"),
        ("64:ff9b:1::808:808", "a local-use NAT64 address"),
        ("100::1", "a discard-only address"),
        ("2001:0:a9fe:a9fe::1", "a Teredo address embedding 169.254.169.254, a cloud metadata address"),
        (
            "2001:0:808:808:0:0:f5ff:fffe",
            "a Teredo address embedding 10.0.0.1, a private address",
        ),  # client bits inverted
        ("2001:0:808:808:8000:f227:f7f7:f7f7", "a Teredo tunnel address (deprecated)"),
        ("2001:2::1", "a benchmarking address"),
        ("2001:db8::1", "a documentation address"),
        ("2001:10::1", "an IETF protocol assignment address"),
        ("2002:a9fe:a9fe::1", "a 6to4 address embedding 169.254.169.254, a cloud metadata address"),
        ("2002:7f00:1::1", "a 6to4 address embedding 127.0.0.1, a loopback address"),
        ("2002:c0a8:101::1", "a 6to4 address embedding 192.168.1.1, a private address"),
        ("2002:808:808::1", "a 6to4 tunnel address (deprecated)"),
        ("3fff::1", "a documentation address"),
        ("5f00::1", "a segment-routing address"),
        ("fc00::1", "a unique-local address"),
        ("fd12:3456::1", "a unique-local address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("fe80::1", "a link-local address"),
        ("febf::1", "a link-local address"),
        ("fec0::1", "a site-local address"),
        ("feff::1", "a site-local address"),
        ("ff02::1", "a multicast address"),
        ("4000::1", "a reserved address"),
        ("8000::1", "a reserved address"),
    ],
)
def test_special_purpose_addresses_are_refused_naming_why(address: str, phrase: str) -> None:
    assert refusal(ip_address(address)) == phrase


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "93.184.215.14",
        "1.1.1.1",
        "172.32.0.1",
        "100.128.0.1",
        "192.0.3.1",
        "2606:4700::6810:84e5",
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ],
)
def test_public_unicast_passes(address: str) -> None:
    assert refusal(ip_address(address)) is None


# --- properties ----------------------------------------------------------------------------------------

ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(IPv6Address)
non_public_ipv4 = st.one_of(
    st.sampled_from(sorted(METADATA_ADDRESSES, key=str)).filter(lambda ip: ip.version == 4),
    ipv4.filter(lambda ip: refusal(ip) is not None),
)
#: Unicast first octets outside 0/8, 10/8 and 127/8: most of what they hold is public, so little is filtered.
public_ipv4 = st.builds(
    lambda first, rest: IPv4Address(first << 24 | rest),
    st.sampled_from([octet for octet in range(1, 224) if octet not in (10, 127)]),
    st.integers(0, 2**24 - 1),
).filter(lambda ip: refusal(ip) is None)


def embeddings(v4: IPv4Address, other: IPv4Address, free: int) -> dict[str, IPv6Address]:
    """Every IPv6 form that carries `v4`: `other` fills Teredo's second IPv4 slot, `free` the bits left free."""
    n, m = int(v4), int(other)
    flags_and_port = free & 0xFFFFFFFF00000000
    return {
        "mapped": IPv6Address((0xFFFF << 32) | n),
        "compatible": IPv6Address(n) if n > 1 else IPv6Address((0xFFFF << 32) | n),
        "nat64": IPv6Address((0x64FF9B << 96) | n),
        "6to4": IPv6Address((0x2002 << 112) | (n << 80) | (free & (2**80 - 1))),
        "teredo_server": IPv6Address((0x20010000 << 96) | (n << 64) | flags_and_port | (~m & 0xFFFFFFFF)),
        "teredo_client": IPv6Address((0x20010000 << 96) | (m << 64) | flags_and_port | (~n & 0xFFFFFFFF)),
    }


@fuzz_settings(3)
@given(v4=non_public_ipv4, other=ipv4, free=st.integers(0, 2**80 - 1))
def test_every_embedding_of_a_non_public_ipv4_address_is_refused(v4, other, free) -> None:
    ran("address policy: embeddings of non-public IPv4")
    for form, v6 in embeddings(v4, other, free).items():
        assert v4 in embedded_ipv4(v6), (form, v6)
        assert refusal(v6) is not None, (form, v6)
        if v4 in METADATA_ADDRESSES:
            assert is_metadata(v6), (form, v6)


@fuzz_settings(2)
@given(v4=public_ipv4, other=public_ipv4, free=st.integers(0, 2**80 - 1))
def test_a_public_ipv4_address_passes_mapped_and_through_nat64_but_never_through_a_tunnel(v4, other, free) -> None:
    ran("address policy: embeddings of public IPv4")
    forms = embeddings(v4, other, free)
    assert refusal(forms["mapped"]) is None and refusal(forms["nat64"]) is None
    for form in ("compatible", "6to4", "teredo_server", "teredo_client"):
        assert refusal(forms[form]) is not None, (form, forms[form])


@fuzz_settings(3)
@given(
    ip=st.one_of(
        ipv4,
        ipv6,
        ipv4.map(lambda v4: IPv6Address(0xFFFF << 32 | int(v4))),
        ipv4.map(lambda v4: IPv6Address(0x64FF9B << 96 | int(v4))),
    )
)
def test_the_policy_is_at_least_as_strict_as_the_standard_library(ip) -> None:
    ran("address policy: never laxer than ipaddress")
    if refusal(ip) is None:
        # a mapped or NAT64 address passes only when the IPv4 address it reaches does
        judged = embedded_ipv4(ip)[0] if ip.version == 6 and embedded_ipv4(ip) else ip
        assert judged.is_global
        assert not (judged.is_private or judged.is_reserved or judged.is_multicast or judged.is_link_local)
        assert not is_metadata(ip)


SPECIAL_BLOCKS = [
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
    "::/96",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]


@fuzz_settings(3)
@given(block=st.sampled_from(SPECIAL_BLOCKS), offset=st.integers(0, 2**128 - 1))
def test_every_address_of_a_special_purpose_block_is_refused(block: str, offset: int) -> None:
    ran("address policy: special-purpose blocks")
    network = ip_network(block)
    ip = network[offset % network.num_addresses]
    if network == ip_network("::ffff:0:0/96"):
        assume(refusal(ip.ipv4_mapped) is not None)  # a mapped public address is that public address
    assert refusal(ip) is not None, ip


# --- the allow-list ------------------------------------------------------------------------------------


def test_the_allow_list_opens_what_it_names_and_nothing_else() -> None:
    allowed = AllowList.parse(["127.0.0.1/32", "10.20.0.0/16", "Hooks.Internal.", "fd12::/64"])
    assert allowed.opens("anything", ip_address("127.0.0.1"))
    assert allowed.opens("anything", ip_address("10.20.3.4"))
    assert allowed.opens("anything", ip_address("fd12::9"))
    assert allowed.opens("hooks.internal", ip_address("192.168.7.7"))
    assert allowed.opens("HOOKS.internal.", ip_address("::1"))
    for host, address in [
        ("anything", "127.0.0.2"),
        ("anything", "::1"),
        ("anything", "10.21.0.1"),
        ("other.internal", "192.168.7.7"),
        ("anything", "fd12:0:0:1::9"),
        ("anything", "::ffff:127.0.0.1"),
    ]:
        assert not allowed.opens(host, ip_address(address)), (host, address)
        assert allowed.refusal(host, ip_address(address)) is not None


@pytest.mark.parametrize("metadata", sorted(METADATA_ADDRESSES, key=str))
def test_metadata_opens_only_through_an_entry_naming_it(metadata) -> None:
    block = ip_network(f"{metadata}/{8 if metadata.version == 4 else 16}", strict=False)
    broad = AllowList.parse([str(block), "metadata.internal"])
    assert not broad.opens("metadata.internal", metadata)
    assert broad.refusal("metadata.internal", metadata) == "a cloud metadata address"
    exact = AllowList.parse([str(metadata)])
    assert exact.opens("anything", metadata)
    if metadata.version == 4:  # the exact entry opens that address, not the forms that embed it
        assert not exact.opens("anything", IPv6Address((0x2002 << 112) | (int(metadata) << 80)))
        assert not exact.opens("anything", IPv6Address((0x64FF9B << 96) | int(metadata)))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("10.0.0.1/8", "host bits set"),
        ("300.1.2.3", "not a valid address"),
        ("127.1", "not a valid address"),
        ("fd12::1/129", "not a valid address"),
        ("hooks internal", "not a host name"),
        ("hooks.exämple.com", "xn-- form"),
        ("-bad.example", "not a host name"),
        ("a" * 64 + ".example", "not a host name"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(entry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_entry(entry)
    with pytest.raises(ValidationError, match="webhook_allowed_networks"):
        Settings(webhook_allowed_networks=[entry])


def test_settings_keep_the_entries_normalised() -> None:
    settings = Settings(webhook_allowed_networks=["127.0.0.1", "HOOKS.internal.", "fd12::/64"])
    assert settings.webhook_allowed_networks == ["127.0.0.1/32", "hooks.internal", "fd12::/64"]
    assert not AllowList.parse(Settings().webhook_allowed_networks)


def test_the_retired_allow_everything_switch_stops_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WELLQUEUE_WEBHOOK_ALLOW_PRIVATE", "true")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "WELLQUEUE_WEBHOOK_ALLOW_PRIVATE" in message and "no longer supported" in message
    assert "WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS" in message
    monkeypatch.setenv("WELLQUEUE_WEBHOOK_ALLOW_PRIVATE", "false")  # harmless: it opens nothing
    assert load_settings().webhook_allowed_networks == []


def test_the_allow_list_is_read_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.1/32", "hooks.internal"]')
    assert load_settings().webhook_allowed_networks == ["127.0.0.1/32", "hooks.internal"]
    monkeypatch.setenv("WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS", '["169.254.169.254/8"]')
    with pytest.raises(SettingsError, match=r"WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS: .*host bits set"):
        load_settings()
