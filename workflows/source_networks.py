"""The operator's ``C2D_SOURCE_NETWORKS``: networks a file URL may reach besides public ones.

Parsed here, below both its readers: the provider checks the setting at start, the steps'
SSRF guard (steps/readers/guard.py) enforces it on every connection.
"""

from __future__ import annotations

import ipaddress

from workflows.contract import SOURCE_NETWORKS_ENV

__all__ = ["Network", "parse_source_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_source_networks(text: str) -> tuple[Network, ...]:
    """From ``"10.0.0.0/8, 127.0.0.1"``; ValueError names a malformed entry."""
    networks = []
    for item in text.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{SOURCE_NETWORKS_ENV}: {item.strip()!r} is no CIDR") from None
    return tuple(networks)
