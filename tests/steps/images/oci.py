"""Test helpers: hostile and hand-made layers (``tarfile``), an htpasswd registry config; the
registry, the pusher and the umoci-built images are devkit's (devkit/oci_registry.py,
devkit/oci_layouts.py), re-exported here for the tests.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import warnings
from pathlib import Path
from typing import Any

import zstandard

from devkit.launch import free_port
from devkit.oci_layouts import CACHE, IMAGE_ONLY_MODULE, busybox_layout, python_layout
from devkit.oci_registry import (
    LAYER_GZIP,
    LAYER_ZSTD,
    OCI_INDEX,
    OCI_MANIFEST,
    Pusher,
    digest_of,
    registry,
)

__all__ = [
    "CACHE",
    "IMAGE_ONLY_MODULE",
    "LAYER_GZIP",
    "LAYER_ZSTD",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Pusher",
    "busybox_entries",
    "busybox_layout",
    "digest_of",
    "entry",
    "free_port",
    "htpasswd_auth_config",
    "layer",
    "python_layout",
    "registry",
    "tar_bytes",
    "zstd_layer",
]


def htpasswd_auth_config(folder: Path, users: dict[str, str]) -> str:
    """The ``auth`` section of a registry config that wants HTTP Basic credentials of ``users``
    (an htpasswd file of bcrypt hashes, made with the C library's crypt)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # Python 3.11's; libxcrypt makes the bcrypt the registry wants

        lines = [
            f"{n}:{crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH))}" for n, p in users.items()
        ]
    path = folder / "htpasswd"
    path.write_text("\n".join(lines) + "\n")
    return f"auth:\n  htpasswd:\n    realm: c2d-test\n    path: {path}\n"


def tar_bytes(*entries: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def layer(*entries: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    """A gzip'd tar layer of hand-made entries."""
    return gzip.compress(tar_bytes(*entries), mtime=0)


def zstd_layer(*entries: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    """A zstd-compressed tar layer of hand-made entries (as ``application/…tar+zstd``)."""
    return zstandard.ZstdCompressor(level=3).compress(tar_bytes(*entries))


def busybox_entries() -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """Debian's busybox-static as /bin/busybox and /bin/sh, for hand-built images that run."""
    return [
        entry("bin", type=tarfile.DIRTYPE, mode=0o755),
        entry("bin/busybox", Path("/bin/busybox").read_bytes(), mode=0o755),
        *(
            entry(f"bin/{name}", type=tarfile.SYMTYPE, linkname="busybox")
            for name in ("sh", "cat", "echo", "ls")
        ),
    ]


def entry(name: str, data: bytes = b"", **fields: Any) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.mode = fields.pop("mode", 0o644)
    for key, value in fields.items():
        setattr(info, key, value)
    if info.type == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None
