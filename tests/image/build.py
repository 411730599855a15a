"""The repository's Dockerfile built without a Docker engine: Debian's buildah (chroot isolation,
vfs storage) on a base made of Debian packages by mmdebstrap, pip offline from wheels the host's
pip downloads. The base tarball, the wheels and buildah's storage (its layer cache) are kept
under ``~/.cache/c2d-test-images/dockerfile-<key>``, keyed by the Dockerfile and the lock file;
a change to c2d's own code rebuilds only the layers after its ``COPY``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devkit.oci_layouts import CACHE

ROOT = Path(__file__).resolve().parents[2]
# The Debian counterpart of python:3.11-slim-bookworm: python3 as `python`, venv and pip.
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "python-is-python3")
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMAGE = "localhost/c2d:test"


def _key() -> str:
    inputs = [(ROOT / name).read_bytes() for name in ("Dockerfile", "requirements.lock")]
    inputs += [" ".join(BASE_PACKAGES).encode(), b"dockerfile-1"]
    return hashlib.sha256(b"\0".join(inputs)).hexdigest()[:16]


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.returncode}\n{done.stderr[-4000:]}")
    return done.stdout.strip()


class Buildah:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.base = f"localhost/c2d-base:{folder.name}"

    def __call__(self, *args: str) -> str:
        storage = ("--root", str(self.folder / "storage"), "--runroot", str(self.folder / "run"))
        return _run(["buildah", *storage, "--storage-driver", "vfs", *args])

    def has(self, image: str) -> bool:
        return bool(self("images", "--quiet", "--filter", f"reference={image}"))


def _base_tar(folder: Path) -> Path:
    tar = folder / "base.tar"
    if not tar.is_file():
        partial = folder / "base.tar.partial"
        include = "--include=" + ",".join(BASE_PACKAGES)
        command = ["mmdebstrap", "--variant=minbase", include, "--format=tar", "bookworm"]
        _run([*command, str(partial)])
        partial.rename(tar)
    return tar


def _import_base(buildah: Buildah) -> None:
    """The mmdebstrap tarball as the image ``buildah.base`` (buildah 1.28 has no `import`)."""
    if buildah.has(buildah.base):
        return
    tar = _base_tar(buildah.folder)
    container = buildah("from", "scratch")
    try:
        subprocess.run(["tar", "-xf", str(tar), "-C", buildah("mount", container)], check=True)
        buildah("umount", container)
        buildah("config", "--env", f"PATH={BASE_PATH}", container)
        buildah("commit", "--quiet", container, buildah.base)
    finally:
        buildah("rm", container)


def _wheels(folder: Path) -> Path:
    """Every locked wheel and the build backend, fetched by the host's pip (its own index and
    certificates), so that the build needs no network."""
    wheels = folder / "wheels"
    if not (wheels / ".complete").is_file():
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        pip += ["--only-binary=:all:", "--dest", str(wheels)]
        _run([*pip, "-r", str(ROOT / "requirements.lock")])
        _run([*pip, "setuptools>=68"])  # pyproject's build-system
        (wheels / ".complete").touch()
    return wheels


def _prune(keep: Path) -> None:
    """Builds of other Dockerfiles or lock files: buildah's vfs storage is gigabytes each."""
    for old in CACHE.glob("dockerfile-*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def built_image() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Build the Dockerfile (layers cached) and yield its root filesystem and its OCI config
    (``Entrypoint``, ``User``, ``Env``…)."""
    folder = CACHE / f"dockerfile-{_key()}"
    folder.mkdir(parents=True, exist_ok=True)
    _prune(folder)
    buildah = Buildah(folder)
    _import_base(buildah)
    offline = ("--build-arg", "PIP_NO_INDEX=1", "--build-arg", "PIP_FIND_LINKS=/wheels")
    buildah(
        *("build", "--isolation", "chroot", "--layers", "--pull=false", "--quiet"),
        *("--build-arg", f"PYTHON_IMAGE={buildah.base}", *offline),
        *("--volume", f"{_wheels(folder)}:/wheels:ro", "--tag", IMAGE, str(ROOT)),
    )
    # The build of c2d's previous code is left untagged: its layers after the `COPY` (about
    # 0.5 GB each in vfs storage) are nobody's parent now. Kept, they filled a 250 GB disk in
    # a day of test runs; the layers the new build reused are its parents and stay.
    buildah("rmi", "--prune")
    config = json.loads(buildah("inspect", "--type", "image", IMAGE))["OCIv1"]["config"]
    container = buildah("from", "--pull=false", IMAGE)
    try:
        yield Path(buildah("mount", container)), config
    finally:
        buildah("rm", container)
