"""Which registry images an environment accepts: patterns an operator writes.

``*`` any image; a pattern ending in ``/`` a registry or repository prefix
(``ghcr.io/acme/``); ``sha256:…`` exactly that manifest digest; anything else an exact
reference (``python:3.11``, ``docker.io/library/python:3.11``, ``repo@sha256:…``), Docker
Hub names normalized as Docker does. ``digests_only`` accepts only pinned images (a digest in
the reference or a ``checksum``).
"""

from __future__ import annotations

from steps.images.reference import DIGEST, ImageReference, InvalidReference, parse_reference

__all__ = ["image_allowed", "validate_pattern"]


def validate_pattern(pattern: str) -> str:
    """``pattern`` or ValueError saying what is wrong with it."""
    if pattern == "*" or DIGEST.match(pattern):
        return pattern
    try:
        _prefix(pattern) if pattern.endswith("/") else parse_reference(pattern)
    except InvalidReference as error:
        raise ValueError(f"image pattern {pattern!r}: {error}") from None
    return pattern


def image_allowed(patterns: tuple[str, ...], ref: ImageReference, digests_only: bool) -> bool:
    if digests_only and ref.digest is None:
        return False
    return any(_matches(pattern, ref) for pattern in patterns)


def _matches(pattern: str, ref: ImageReference) -> bool:
    if pattern == "*":
        return True
    if DIGEST.match(pattern):
        return ref.digest == pattern
    if pattern.endswith("/"):
        base = _prefix(pattern)
        name = f"{ref.registry}/{ref.repository}"
        return name == base or name.startswith(base + "/")
    wanted = parse_reference(pattern)
    if (wanted.registry, wanted.repository) != (ref.registry, ref.repository):
        return False
    if wanted.digest:
        return ref.digest == wanted.digest
    return ref.tag == wanted.tag and (ref.digest is None or "@" not in pattern)


def _prefix(pattern: str) -> str:
    """``registry`` or ``registry/repository-path`` of a prefix pattern, normalized."""
    prefix = pattern.rstrip("/")
    probe = parse_reference(f"{prefix}/x")
    first, _, rest = prefix.partition("/")
    if not rest and ("." in first or ":" in first or first == "localhost"):
        return probe.registry
    return f"{probe.registry}/{probe.repository.removesuffix('/x')}"
