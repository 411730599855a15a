"""NetworkPolicy egress as Kubernetes defines it (networking/v1 API documentation), for tests.

A pod selected by a policy whose policyTypes include Egress is isolated: it may reach only what
some rule of a selecting policy allows (policies add up). A rule without ``to`` matches every
destination, without ``ports`` every port; a peer is an ipBlock (cidr minus except), a
podSelector in the policy's namespace, or a namespaceSelector (with an optional podSelector).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Destination:
    ip: str
    port: int
    protocol: str = "TCP"
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace: str | None = None  # None: not a pod (an address outside the cluster)


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        present = expression["key"] in labels
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def egress_allowed(
    policies: Iterable[Mapping[str, Any]],
    pod_labels: Mapping[str, str],
    destination: Destination,
    namespace: str = "c2d-jobs",
) -> bool:
    selecting = [
        p["spec"]
        for p in policies
        if "Egress" in p["spec"].get("policyTypes", [])
        and selects(p["spec"]["podSelector"], pod_labels)
    ]
    if not selecting:
        return True
    return any(
        _rule_matches(rule, destination, namespace)
        for spec in selecting
        for rule in spec.get("egress") or []
    )


def _rule_matches(rule: Mapping[str, Any], destination: Destination, namespace: str) -> bool:
    ports = rule.get("ports")
    if ports and not any(
        p.get("port") in (None, destination.port)
        and p.get("protocol", "TCP") == destination.protocol
        for p in ports
    ):
        return False
    peers = rule.get("to")
    return not peers or any(_peer_matches(peer, destination, namespace) for peer in peers)


def _peer_matches(peer: Mapping[str, Any], destination: Destination, namespace: str) -> bool:
    block = peer.get("ipBlock")
    if block is not None:
        address = ipaddress.ip_address(destination.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if destination.namespace is None:
        return False
    namespaces = peer.get("namespaceSelector")
    if namespaces is None:
        same = destination.namespace == namespace
    else:
        same = selects(namespaces, {"kubernetes.io/metadata.name": destination.namespace})
    pods = peer.get("podSelector")
    return same and (pods is None or selects(pods, destination.labels))
