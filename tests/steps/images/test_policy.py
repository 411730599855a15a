"""References as Docker reads them, the environments' image patterns, the image's user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from steps.images.policy import image_allowed, validate_pattern
from steps.images.reference import InvalidReference, parse_reference
from steps.images.registry import PullError
from steps.images.runconfig import image_env, image_user

DIGEST = "sha256:" + "ab" * 32


def test_references_normalize_as_docker_does() -> None:
    hub = parse_reference("python", "3.11")
    assert (hub.registry, hub.repository, hub.tag) == (
        "registry-1.docker.io",
        "library/python",
        "3.11",
    )
    local = parse_reference("127.0.0.1:5000/tools/busybox:1")
    assert (local.registry, local.repository, local.tag) == ("127.0.0.1:5000", "tools/busybox", "1")
    pinned = parse_reference("ghcr.io/acme/algo", "v1", DIGEST)
    assert pinned.reference == DIGEST
    for bad in ("UPPER/case", "a//b", "x:tag with space"):
        with pytest.raises(InvalidReference):
            parse_reference(bad)
    with pytest.raises(InvalidReference, match="digest other than its checksum"):
        parse_reference(f"x@{DIGEST}", checksum="sha256:" + "cd" * 32)


@pytest.mark.parametrize(
    ("patterns", "image", "allowed"),
    [
        (("*",), "anything/at:all", True),
        (("ghcr.io/acme/",), "ghcr.io/acme/algo:1", True),
        (("ghcr.io/acme/",), "ghcr.io/acmex/algo:1", False),
        (("docker.io/library/",), "python:3.12", True),
        (("docker.io/",), "acme/algo:1", True),
        (("127.0.0.1:5000/",), "127.0.0.1:5000/tools/x:1", True),
        (("127.0.0.1:5000/",), "127.0.0.1:5001/tools/x:1", False),
        (("python:3.11",), "docker.io/library/python:3.11", True),
        (("python:3.11",), "python:3.12", False),
        ((DIGEST,), f"x@{DIGEST}", True),
        ((DIGEST,), "x:1", False),
    ],
)
def test_environment_patterns(patterns: tuple[str, ...], image: str, allowed: bool) -> None:
    assert image_allowed(patterns, parse_reference(image), digests_only=False) is allowed


def test_digests_only_and_bad_patterns() -> None:
    assert not image_allowed(("*",), parse_reference("x:1"), digests_only=True)
    assert image_allowed(("*",), parse_reference(f"x@{DIGEST}"), digests_only=True)
    with pytest.raises(ValueError, match="not an image name"):
        validate_pattern("Not A Pattern")


def test_the_images_user_comes_from_its_own_passwd_never_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/:/\n")
    assert image_user(tmp_path, {"User": "app"}) == (1001, 1002)
    assert image_user(tmp_path, {"User": "2000:3000"}) == (2000, 3000)
    assert image_user(tmp_path, {"User": "2000"}) == (2000, 2000)
    assert image_user(tmp_path, {"User": "root"}) is None
    assert image_user(tmp_path, {"User": "0"}) is None
    assert image_user(tmp_path, {}) is None
    os.unlink(tmp_path / "etc" / "passwd")
    os.symlink("/etc/passwd", tmp_path / "etc" / "passwd")  # the host's: root is in it
    with pytest.raises(PullError, match="not in its /etc/passwd"):
        image_user(tmp_path, {"User": "root"})
    assert image_env({"Env": ["A=1", "B=x=y", "bad", "=no"]}) == (("A", "1"), ("B", "x=y"))
