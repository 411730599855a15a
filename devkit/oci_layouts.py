"""OCI image layouts built with Debian's umoci from this machine's own files (no base image can be
downloaded here): busybox-static, and a Python made of the host's interpreter, its libraries and
standard library plus a module the host lacks. Fixed timestamps and no history, so their digests
are stable; cached under ``~/.cache/c2d-test-images`` keyed by their inputs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

__all__ = ["CACHE", "IMAGE_ONLY_MODULE", "busybox_layout", "python_layout"]

CACHE = Path.home() / ".cache" / "c2d-test-images"


def _built_layout(name: str, key: str, fill: Callable[[Path], None], *config: str) -> Path:
    """The OCI layout ``name-key`` from the cache, else built with umoci: ``fill(rootfs)`` puts
    the files in, ``config`` are ``umoci config`` options; fixed timestamps, no history."""
    layout = CACHE / f"{name}-{key}"
    if (layout / "index.json").is_file():
        return layout
    work = CACHE / f".build-{name}-{key}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    oci, bundle = work / "oci", work / "bundle"
    _umoci("init", "--layout", str(oci))
    _umoci("new", "--image", f"{oci}:latest")
    _umoci("unpack", "--image", f"{oci}:latest", str(bundle))
    fill(bundle / "rootfs")
    _umoci("repack", "--image", f"{oci}:latest", "--no-history", str(bundle))
    created = ("--created", "2026-01-01T00:00:00Z")
    _umoci("config", "--image", f"{oci}:latest", "--no-history", *created, *config)
    _umoci("gc", "--layout", str(oci))
    oci.rename(layout)
    shutil.rmtree(work, ignore_errors=True)
    return layout


def _add_busybox(rootfs: Path, *names: str) -> None:
    (rootfs / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
    for name in ("sh", *names):
        (rootfs / "bin" / name).symlink_to("busybox")


def busybox_layout() -> Path:
    """An OCI layout with Debian's busybox-static as /bin (built once, then cached)."""
    key = hashlib.sha256(Path("/bin/busybox").read_bytes() + b"busybox-1").hexdigest()[:16]
    applets = ("cat", "echo", "ls", "id", "env", "pwd")
    env = ("--config.env", "GREETING=from-the-image")
    more = ("--config.workingdir", "/srv", "--config.cmd", "/bin/sh")
    return _built_layout("busybox", key, lambda root: _add_busybox(root, *applets), *env, *more)


# A module only the Python image has: a job that imports it ran in the image, not on the host.
IMAGE_ONLY_MODULE = "c2d_image_only"
_IMAGE_ONLY_CODE = 'ANSWER = "only in the image"\n'
_STDLIB_SKIPPED = ("test", "idlelib", "tkinter", "ensurepip", "lib2to3", "pydoc_data")


def python_layout() -> Path:
    """An OCI layout with this machine's python3 (its binary, the libraries it links, the
    standard library), busybox as /bin/sh and a module the host lacks; built once, cached."""
    python = Path(os.path.realpath("/usr/bin/python3"))
    stdlib = Path(f"/usr/lib/{python.name}")
    libraries = _linked_libraries(python)
    inputs = [python.read_bytes(), Path("/bin/busybox").read_bytes(), _IMAGE_ONLY_CODE.encode()]
    inputs += [str(path).encode() for path in libraries] + [b"python-1"]
    key = hashlib.sha256(b"".join(inputs)).hexdigest()[:16]

    def fill(rootfs: Path) -> None:
        for library in [*libraries, python]:
            target = rootfs / str(library).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(library, target)
        (rootfs / "usr/bin/python3").symlink_to(python.name)
        skipped = shutil.ignore_patterns(
            "__pycache__", "site-packages", "dist-packages", *_STDLIB_SKIPPED
        )
        shutil.copytree(stdlib, rootfs / str(stdlib).lstrip("/"), symlinks=True, ignore=skipped)
        packages = rootfs / "usr/lib/python3/dist-packages"
        packages.mkdir(parents=True)
        (packages / f"{IMAGE_ONLY_MODULE}.py").write_text(_IMAGE_ONLY_CODE)
        _add_busybox(rootfs)

    return _built_layout("python", key, fill)


def _linked_libraries(binary: Path) -> list[Path]:
    """The shared libraries ``binary`` loads (and the loader), as ``ldd`` lists them."""
    output = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True)
    found = re.findall(r"(/\S+) \(0x", output.stdout)
    return sorted({Path(path) for path in found})


def _umoci(*args: str) -> None:
    subprocess.run(["umoci", *args], check=True, capture_output=True)
