"""The SSRF guard on every IPv6 form that leads to an IPv4 address (mapped, compatible, 6to4,
Teredo, NAT64): judged by the IPv4 address it reaches, never taken as public by itself."""

from __future__ import annotations

import ipaddress
import ssl

import pytest

from steps.readers.guard import SourcePolicy, embedded_ipv4

# Each form carries 127.0.0.1, 10.1.2.3 or 169.254.169.254 (cloud metadata).
PRIVATE_IN_DISGUISE = [
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible (deprecated, still parsed)
    "::10.1.2.3",
    "::a9fe:a9fe",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a01:203:1::1",  # 6to4 of 10.1.2.3
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "64:ff9b::127.0.0.1",  # NAT64, well-known prefix
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::7f00:1",  # NAT64, local-use prefix (refused as a whole)
    "64:ff9b:1:7f00:0:100::",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 obfuscated
    "2001:0:a01:203::1",  # Teredo, server 10.1.2.3
]


@pytest.mark.parametrize("address", PRIVATE_IN_DISGUISE)
def test_every_ipv6_form_of_a_private_ipv4_address_is_refused(address: str) -> None:
    assert not SourcePolicy().permits(address)


def test_public_ipv4_behind_a_translation_prefix_still_passes() -> None:
    policy = SourcePolicy()
    for address in ("::ffff:1.1.1.1", "64:ff9b::1.1.1.1", "2002:101:101::1", "2606:4700::1111"):
        assert policy.permits(address), address
    # The local-use NAT64 prefix embeds where the operator says: never guessed, opted in only.
    assert not policy.permits("64:ff9b:1::101:101")
    assert SourcePolicy.parse("64:ff9b:1::/48").permits("64:ff9b:1::101:101")


def test_opting_in_an_ipv4_network_covers_its_ipv6_forms_only() -> None:
    loopback = SourcePolicy.parse("127.0.0.0/8")
    for address in ("127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"):
        assert loopback.permits(address), address
    # ::1 is IPv6 loopback, not 127.0.0.1; 10.1.2.3 was not opted in.
    assert not loopback.permits("::1")
    assert not loopback.permits("::ffff:10.1.2.3")


def test_embedded_ipv4_reads_each_form() -> None:
    def v4(text: str) -> tuple[ipaddress.IPv4Address, ...]:
        return embedded_ipv4(ipaddress.IPv6Address(text))

    one = ipaddress.IPv4Address("10.1.2.3")
    assert v4("::ffff:10.1.2.3") == (one,)
    assert v4("::10.1.2.3") == (one,)
    assert v4("64:ff9b::10.1.2.3") == (one,)
    assert v4("2002:a01:203::") == (one,)
    server, client = v4("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert (str(server), str(client)) == ("65.54.227.120", "127.0.0.1")
    assert v4("2606:4700::1111") == ()


def test_every_guarded_transport_shares_the_process_tls_context() -> None:
    # Building a context loads the whole CA bundle (50 to 150 ms): it was built twice per
    # transport, in every configure and publish step. The step server builds it before it forks.
    from steps import configure, publish
    from steps.readers.guard import _GuardedTransport, guarded_transport, tls_context

    configure.prepare()
    publish.prepare()
    first, second = guarded_transport(SourcePolicy()), guarded_transport(SourcePolicy())
    assert isinstance(first, _GuardedTransport) and isinstance(second, _GuardedTransport)
    contexts = {id(t._pool._ssl_context) for t in (first, second)}
    assert contexts == {id(tls_context())}
    assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().check_hostname
