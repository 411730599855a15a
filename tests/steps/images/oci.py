"""Test helpers: a real registry on loopback, OCI images built from local files, a pusher.

Hostile layers are made with ``tarfile`` here; well-formed images with ``umoci`` (Debian's) from
files of this machine only, cached under ``~/.cache/c2d-test-images`` keyed by their inputs.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import zstandard

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
CACHE = Path.home() / ".cache" / "c2d-test-images"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def registry(tmp: Path, auth: str = "") -> Iterator[str]:
    """Debian's docker-registry on a free loopback port, anonymous unless ``auth`` (a config
    section) says otherwise; yields ``host:port``. Its access log goes to ``tmp/access.log``."""
    port = free_port()
    config = tmp / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {tmp / 'storage'}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}"
    )
    access_log = (tmp / "access.log").open("wb")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=access_log, stderr=subprocess.STDOUT
    )
    access_log.close()
    try:
        for _ in range(500):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/").status_code in (200, 401):
                    break
            except httpx.HTTPError:
                time.sleep(0.02)
        else:
            raise RuntimeError("docker-registry did not start")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


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


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Pusher:
    registry: str
    pushed_blobs: int = 0
    # A token registry's: a bearer token per repository (tokens.py), else none needed.
    token: Callable[[str], str] | None = None
    # An htpasswd registry's: a user and password.
    basic: tuple[str, str] | None = None

    def _headers(self, repository: str) -> dict[str, str]:
        if self.basic is not None:
            pair = base64.b64encode(":".join(self.basic).encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if self.token is None:
            return {}
        return {"Authorization": f"Bearer {self.token(f'repository:{repository}:pull,push')}"}

    def blob(self, repository: str, data: bytes) -> str:
        digest = digest_of(data)
        base = f"http://{self.registry}/v2/{repository}/blobs"
        headers = self._headers(repository)
        if httpx.head(f"{base}/{digest}", headers=headers).status_code == 200:
            return digest
        started = httpx.post(f"{base}/uploads/", headers=headers)
        assert started.status_code == 202, started.text
        location = started.headers["location"]
        if location.startswith("/"):
            location = f"http://{self.registry}{location}"
        url = httpx.URL(location).copy_merge_params({"digest": digest})
        done = httpx.put(url, content=data, headers=headers)
        assert done.status_code == 201, done.text
        self.pushed_blobs += 1
        return digest

    def manifest(self, repository: str, tag: str, body: bytes, media_type: str) -> str:
        url = f"http://{self.registry}/v2/{repository}/manifests/{tag}"
        headers = {"Content-Type": media_type, **self._headers(repository)}
        answer = httpx.put(url, content=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return digest_of(body)

    def image(
        self,
        repository: str,
        tag: str,
        layers: list[bytes],
        config: dict[str, Any] | None = None,
        sizes: list[int] | None = None,
        media_type: str = LAYER_GZIP,
    ) -> str:
        """Push ``layers`` (gzip'd unless ``media_type`` says otherwise) and a manifest;
        ``sizes`` overrides what it declares."""
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "config": config or {},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
        raw_config = json.dumps(image_config).encode()
        descriptors = []
        for i, layer in enumerate(layers):
            size = sizes[i] if sizes else len(layer)
            digest = self.blob(repository, layer)
            descriptors.append({"mediaType": media_type, "digest": digest, "size": size})
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": self.blob(repository, raw_config),
                "size": len(raw_config),
            },
            "layers": descriptors,
        }
        return self.manifest(repository, tag, json.dumps(manifest).encode(), OCI_MANIFEST)

    def layout(self, layout: Path, repository: str, tag: str) -> str:
        """Push the image of an OCI layout folder (as umoci writes it); returns its digest."""
        index = json.loads((layout / "index.json").read_text())
        descriptor = index["manifests"][0]
        raw = _layout_blob(layout, descriptor["digest"])
        manifest = json.loads(raw)
        for item in [manifest["config"], *manifest["layers"]]:
            self.blob(repository, _layout_blob(layout, item["digest"]))
        return self.manifest(repository, tag, raw, descriptor["mediaType"])


def _layout_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


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
