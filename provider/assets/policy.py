"""The permission policy: which algorithms may run on a dataset and who may use an asset.

Pure functions on DDO models and plain facts: no I/O, no clock. Private by default: a compute
service that trusts nothing allows nothing; ``"*"`` entries opt in explicitly (the rules:
docs/design.md#policy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provider.assets.ddo import Credential, Credentials, Ddo, Service, TrustedAlgorithm
from provider.errors import Forbidden

__all__ = [
    "AlgorithmFacts",
    "AlgorithmGrant",
    "authorize_algorithm",
    "check_credentials",
    "network_allowed",
    "split_files_checksum",
]

_ANY = "*"
_RUNNABLE_SERVICE_TYPES = frozenset({"compute", "access"})
_DIGEST = re.compile(r"[0-9a-f]{64}")
_DIGEST_LENGTH = 64
_CONTAINER_MISMATCH = "the algorithm's container checksum does not match the trusted algorithm"


@dataclass(frozen=True)
class AlgorithmFacts:
    """What the policy needs to know about the algorithm a consumer wants to run."""

    raw: bool
    did: str | None
    publisher: str | None
    container_checksum: str | None
    service_type: str | None


@dataclass(frozen=True)
class AlgorithmGrant:
    """Permission to run; ``expected_files_checksum`` is the filesChecksum a trust entry pins."""

    expected_files_checksum: str | None


def authorize_algorithm(
    ddo: Ddo, service: Service, algorithm: AlgorithmFacts, *, label: str, additional: bool = False
) -> AlgorithmGrant:
    """Grant or refuse running ``algorithm`` on ``service`` of dataset ``ddo``.

    The first dataset must offer a compute service; an ``additional`` dataset may also be
    an access service, whose data its buyer may download anyway: any algorithm may read it.
    """
    if additional and service.type == "access":
        return AlgorithmGrant(expected_files_checksum=None)
    if service.type != "compute":
        raise Forbidden(f"{label}: service {service.id} is not a compute service")
    policy = service.compute
    if algorithm.raw:
        if policy is None or not policy.allow_raw_algorithm:
            raise Forbidden(f"{label}: raw algorithms are not allowed")
        return AlgorithmGrant(expected_files_checksum=None)
    if algorithm.service_type not in _RUNNABLE_SERVICE_TYPES:
        raise Forbidden(
            f"{label}: the algorithm's service type {algorithm.service_type!r} cannot run here"
        )
    if policy is None:
        raise Forbidden(f"{label}: algorithm not trusted")
    trusted = policy.publisher_trusted_algorithms
    did = (algorithm.did or "").lower()
    exact = [entry for entry in trusted if did and entry.did.lower() == did]
    wildcard = [entry for entry in trusted if entry.did == _ANY]
    if exact:
        # A pin naming this very DID decides alone: a container mismatch is refused even when
        # the publisher or a "*" entry is trusted too, since the dataset's publisher said which
        # container this algorithm must run in.
        return _grant_pinned(exact, algorithm, label=label)
    for entry in wildcard:
        if _container_matches(entry, algorithm.container_checksum):
            return AlgorithmGrant(expected_files_checksum=_pinned_files(entry))
    if _listed(algorithm.publisher, policy.publisher_trusted_algorithm_publishers):
        return AlgorithmGrant(expected_files_checksum=None)
    if wildcard:
        raise Forbidden(f"{label}: {_CONTAINER_MISMATCH}")
    raise Forbidden(f"{label}: algorithm not trusted")


def _grant_pinned(
    entries: list[TrustedAlgorithm], algorithm: AlgorithmFacts, *, label: str
) -> AlgorithmGrant:
    for entry in entries:
        if _container_matches(entry, algorithm.container_checksum):
            return AlgorithmGrant(expected_files_checksum=_pinned_files(entry))
    raise Forbidden(f"{label}: {_CONTAINER_MISMATCH}")


def _container_matches(entry: TrustedAlgorithm, checksum: str | None) -> bool:
    pinned = entry.container_section_checksum.strip().lower()
    if pinned in ("", _ANY):
        return True
    return checksum is not None and checksum.lower() == pinned


def _pinned_files(entry: TrustedAlgorithm) -> str | None:
    pinned = entry.files_checksum.strip()
    return None if pinned in ("", _ANY) else pinned


def _listed(address: str | None, addresses: list[str]) -> bool:
    """Whether ``addresses`` names ``address`` (case-insensitively) or holds ``"*"``."""
    if _ANY in addresses:
        return True
    if address is None:
        return False
    return address.lower() in {entry.lower() for entry in addresses}


def check_credentials(
    ddo: Ddo, consumer: str, *, label: str, service: Service | None = None
) -> None:
    """Refuse ``consumer`` if the asset's (and, given, the service's) allow/deny lists say so."""
    for credentials in (ddo.credentials, service.credentials if service else None):
        if credentials is not None and not _credentials_allow(credentials, consumer):
            raise Forbidden(f"{label}: {consumer} is not allowed to use {ddo.id}")


def _credentials_allow(credentials: Credentials, consumer: str) -> bool:
    # Deny wins. A deny rule of a type we cannot evaluate (e.g. an on-chain accessList) refuses
    # everyone: failing open would let a denied consumer through.
    for rule in credentials.deny:
        if not _is_address_rule(rule) or _listed(consumer, rule.values):
            return False
    allow = credentials.allow
    if not allow:
        return True
    addresses = [value for rule in allow if _is_address_rule(rule) for value in rule.values]
    only_empty_address_rules = all(_is_address_rule(rule) for rule in allow) and not addresses
    # Ocean reads an empty address allow list as "no restriction"; any other allow rule we
    # cannot evaluate grants nothing, so the consumer must then be among the listed addresses.
    return only_empty_address_rules or _listed(consumer, addresses)


def _is_address_rule(rule: Credential) -> bool:
    return rule.type == "address"


def network_allowed(service: Service, environment_allows: bool) -> bool:
    """The algorithm gets network only when the dataset's service AND the environment allow it."""
    return (
        environment_allows and service.compute is not None and service.compute.allow_network_access
    )


def split_files_checksum(checksum: str) -> list[str]:
    """A filesChecksum (concatenated sha256 hex digests, one per file) → the digests, lowercase."""
    value = checksum.strip().lower()
    if not value or len(value) % _DIGEST_LENGTH:
        raise Forbidden(
            "algorithm: the trusted filesChecksum is malformed: expected one 64-hex sha256"
            " digest per file"
        )
    digests = [value[i : i + _DIGEST_LENGTH] for i in range(0, len(value), _DIGEST_LENGTH)]
    if not all(_DIGEST.fullmatch(digest) for digest in digests):
        raise Forbidden("algorithm: the trusted filesChecksum is malformed: not hex digits")
    return digests
