"""Image references as Docker spells them: ``[registry/]repository[:tag][@digest]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_REGISTRY", "ImageReference", "InvalidReference", "parse_reference"]

DEFAULT_REGISTRY = "registry-1.docker.io"
_DOCKER_HUB_NAMES = ("docker.io", "index.docker.io", DEFAULT_REGISTRY)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class InvalidReference(ValueError):
    """Not an image reference this client can pull."""


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What the manifest endpoint is asked for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        name = f"{self.registry}/{self.repository}"
        if self.tag:
            name += f":{self.tag}"
        return f"{name}@{self.digest}" if self.digest else name


def parse_reference(image: str, tag: str = "", checksum: str = "") -> ImageReference:
    """``image`` with Ocean's separate ``tag`` and ``checksum`` (the manifest digest) folded in.

    A digest pins the pull: the registry is asked for exactly that manifest.
    """
    name, _, digest = image.partition("@")
    digest = digest or checksum
    if digest and not DIGEST.match(digest):
        raise InvalidReference(f"not a sha256 digest: {digest!r}")
    if checksum and digest != checksum:
        raise InvalidReference(f"image {image!r} names a digest other than its checksum")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DEFAULT_REGISTRY, name
    if registry in _DOCKER_HUB_NAMES:
        registry = DEFAULT_REGISTRY
        if "/" not in path:
            path = f"library/{path}"
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, inline_tag = path.rpartition(":")
        if tag and tag != inline_tag:
            raise InvalidReference(f"image {image!r} names a tag other than {tag!r}")
        tag = inline_tag
    if not path or not all(_COMPONENT.match(part) for part in path.split("/")):
        raise InvalidReference(f"not an image name: {image!r}")
    if tag and not _TAG.match(tag):
        raise InvalidReference(f"not an image tag: {tag!r}")
    return ImageReference(registry, path, tag or (None if digest else "latest"), digest or None)
