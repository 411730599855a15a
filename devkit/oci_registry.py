"""A local OCI registry for development: Debian's docker-registry on a loopback port, and a
client that pushes images (hand-made layers, or OCI layouts as umoci writes them) to it.

The tests' registries and ``make bench``'s image figures run on this; nothing here is the
provider's (the provider only pulls, steps/images/registry.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devkit.launch import free_port

__all__ = [
    "LAYER_GZIP",
    "LAYER_ZSTD",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Pusher",
    "digest_of",
    "layout_blob",
    "registry",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


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
        raw = layout_blob(layout, descriptor["digest"])
        manifest = json.loads(raw)
        for item in [manifest["config"], *manifest["layers"]]:
            self.blob(repository, layout_blob(layout, item["digest"]))
        return self.manifest(repository, tag, raw, descriptor["mediaType"])


def layout_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
