"""SSRF guard: which addresses a file URL may reach, checked on the address actually connected to.

By default only globally routable addresses: no loopback, private ranges (RFC 1918, ULA),
link-local (cloud metadata at 169.254.169.254), CGNAT, multicast or reserved ones, so that a
consumer's raw dataset URL cannot make the provider's trusted step read the provider's own
services or the operator's LAN. An IPv6 address that carries an IPv4 one (IPv4-mapped,
IPv4-compatible, 6to4, Teredo, NAT64 ``64:ff9b::/96``) is judged by the IPv4 address it
reaches; the local-use NAT64 prefix ``64:ff9b:1::/48``, whose embedding the operator chooses,
is refused unless opted in. The operator opts networks in with ``C2D_SOURCE_NETWORKS``
(comma-separated CIDRs, e.g. ``127.0.0.0/8`` for a demo serving files from loopback). The
check runs in the HTTP client's connect, per connection and per redirect hop, on the resolved
IP the socket then connects to, so DNS rebinding between check and connect is impossible.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpcore
import httpx

from workflows.contract import SOURCE_NETWORKS_ENV
from workflows.source_networks import Network as _Network
from workflows.source_networks import parse_source_networks

__all__ = [
    "AddressRefused",
    "SourcePolicy",
    "embedded_ipv4",
    "guarded_transport",
    "permitted_address",
    "refusal_reason",
]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class SourcePolicy:
    """Public addresses, plus the operator's ``allowed`` networks."""

    allowed: tuple[_Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SourcePolicy:
        """From ``"10.0.0.0/8, 127.0.0.1"``; ValueError names a malformed entry."""
        return cls(parse_source_networks(text))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SourcePolicy:
        return cls.parse(environ.get(SOURCE_NETWORKS_ENV, ""))

    def permits(self, address: str) -> bool:
        ip: _Address = ipaddress.ip_address(address.split("%", 1)[0])
        if self._opted_in(ip):
            return True
        if isinstance(ip, ipaddress.IPv4Address):
            return _public(ip)
        if ip in _NAT64_LOCAL:
            return False
        embedded = embedded_ipv4(ip)
        if embedded:
            # Every IPv4 address the packet may reach must pass on its own.
            return all(self._opted_in(v4) or _public(v4) for v4 in embedded)
        return _public(ip) and not ip.is_reserved

    def _opted_in(self, ip: _Address) -> bool:
        return any(ip in network for network in self.allowed)


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address leads to: IPv4-mapped ``::ffff:a.b.c.d``,
    IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::/48``,
    and Teredo's server and (de-obfuscated) client; empty for any other address."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _IPV4_COMPATIBLE or ip in _NAT64_WELL_KNOWN:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    return ()


def _public(ip: _Address) -> bool:
    return ip.is_global and not ip.is_multicast


class _GuardedBackend(httpcore.SyncBackend):
    def __init__(self, policy: SourcePolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        address = self._checked_address(host, port)
        return super().connect_tcp(address, port, timeout, local_address, socket_options)

    def _checked_address(self, host: str, port: int) -> str:
        try:
            return permitted_address(self._policy, host, port)
        except AddressRefused as refused:
            raise _Refused(str(refused)) from None
        except (socket.gaierror, UnicodeError):
            raise httpcore.ConnectError("host name could not be resolved") from None


class AddressRefused(Exception):
    """The host resolves to an address the policy refuses."""


def permitted_address(policy: SourcePolicy, host: str, port: int) -> str:
    """The address to connect to for ``host``; AddressRefused, or socket.gaierror if unknown.

    For clients other than httpx (FTP): connect to the returned address, never to ``host``.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    # Every answer must pass: a name resolving to one public and one private address is out.
    if not addresses or not all(policy.permits(a) for a in addresses):
        raise AddressRefused("the source's address is not allowed (private, loopback or reserved)")
    return addresses[0]


class _Refused(httpcore.ConnectError):
    """Raised inside httpcore so the connection pool cleans up; reported as a FetchError."""


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying client context for every guarded transport: loading the CA bundle takes
    tens of milliseconds (hundreds on a busy machine), and a context is safe to share."""
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: SourcePolicy) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            network_backend=_GuardedBackend(policy),
        )


def guarded_transport(policy: SourcePolicy) -> httpx.BaseTransport:
    """An httpx transport whose every connection goes through ``policy``."""
    return _GuardedTransport(policy)


def refusal_reason(error: BaseException) -> str | None:
    """The guard's message when ``error`` (or its cause) is a refusal, else None."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, _Refused):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return None
