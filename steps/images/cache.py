"""Image roots by manifest digest: one download per image however many jobs ask at once.

Layout under the cache folder (root-only): ``blobs/<sha256>`` verified blobs (a layer shared by
two images is downloaded once), ``chains/<id>/rootfs`` each prefix of an image's layers unpacked
once (layers.py), ``images/<sha256>/rootfs`` the image's root (hard links into its last chain)
and ``images/<sha256>/image.json`` its configuration, size, layers, chains and whether it was
pulled with credentials (then a job gets it only by asking the registry with its own),
``tmp/`` unpacks in progress.
Each unpack goes into a fresh folder under ``tmp`` that is renamed into place only when complete,
so a crash or a refused layer never leaves half an image where a job could find it. A lock per
digest makes concurrent pulls of one image wait for the first. Past ``max_bytes`` the least
recently used images (and blobs no remaining image names) are deleted; an image a job holds a
lease on is never deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steps.images.layers import CHAIN_META, LayerChains, chain_ids, link_copy
from steps.images.reference import ImageReference
from steps.images.registry import BlobStore, PullError, RegistryClient
from steps.images.unpack import UnpackCaps

__all__ = ["CacheStats", "ImageCache", "ImageLease"]

_META = "image.json"


@dataclass(frozen=True)
class ImageLease:
    """An image a job uses: its root stays on disk until released."""

    digest: str
    rootfs: Path
    config: dict[str, Any]
    cached: bool
    fetched_bytes: int
    unpacked_bytes: int


@dataclass
class CacheStats:
    hits: int = 0
    pulls: int = 0
    fetched_bytes: int = 0
    pull_seconds: float = 0.0


class ImageCache:
    def __init__(
        self,
        root: Path,
        max_bytes: int,
        caps: UnpackCaps | None = None,
        mount_points: tuple[str, ...] = ("proc", "dev", "tmp", "data"),
    ) -> None:
        self._root = root
        self._max_bytes = max_bytes
        self._caps = caps or UnpackCaps()
        self._mount_points = mount_points
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.blobs = BlobStore(root / "blobs")
        self._images = root / "images"
        self._images.mkdir(exist_ok=True)
        self._tmp = root / "tmp"
        shutil.rmtree(self._tmp, ignore_errors=True)  # unpacks a crash interrupted
        self._tmp.mkdir()
        self._chains = LayerChains(root / "chains", self._tmp)
        self._lock = threading.Lock()
        self._digest_locks: dict[str, threading.Lock] = {}
        self._in_use: Counter[str] = Counter()
        self.stats = CacheStats()

    def acquire(
        self, client: RegistryClient, ref: ImageReference, pull_cap_bytes: int
    ) -> ImageLease:
        """The image's root, pulled and unpacked if it is not cached; PullError says why not."""
        started = time.monotonic()
        if ref.digest and self._public(ref.digest):
            digest = ref.digest  # pinned and cached: no registry needed
            pulled = None
        else:
            pulled = client.resolve(ref, self.blobs)
            digest = pulled.digest
        with self._digest_lock(digest):
            folder = self._images / _hex(digest)
            cached = (folder / _META).is_file()
            fetched = pulled.fetched_bytes if pulled else 0
            if not cached:
                assert pulled is not None
                fetched += client.fetch_layers(ref, pulled, self.blobs, pull_cap_bytes)
                layers = [layer.digest for layer in pulled.layers]
                unpack_started = time.monotonic()
                fresh = self._unpack(
                    folder, pulled.config, layers, private=client.credentials is not None
                )
                client.report(
                    f"unpacked {fresh} of {len(layers)} layer(s) in"
                    f" {time.monotonic() - unpack_started:.1f} s (the others were unpacked"
                    " already, for an image on the same layers)"
                )
            else:
                client.report(f"image {ref}: {digest} is cached, nothing to fetch")
            meta = json.loads((folder / _META).read_text())
            os.utime(folder / _META)
            with self._lock:
                self._in_use[digest] += 1
                self.stats.hits += cached
                self.stats.pulls += not cached
                self.stats.fetched_bytes += fetched
                self.stats.pull_seconds += time.monotonic() - started
        self._evict()
        config = meta["config"].get("config") or {}
        return ImageLease(
            digest, folder / "rootfs", config, cached, fetched, int(meta["unpacked_bytes"])
        )

    def release(self, lease: ImageLease) -> None:
        with self._lock:
            self._in_use[lease.digest] -= 1
            if self._in_use[lease.digest] <= 0:
                del self._in_use[lease.digest]
        self._evict()

    def _digest_lock(self, digest: str) -> threading.Lock:
        with self._lock:
            return self._digest_locks.setdefault(digest, threading.Lock())

    def _public(self, digest: str) -> bool:
        """Cached and pulled without credentials: anyone may have it by digest. An image that
        took credentials is asked of the registry again with each job's own (Kubernetes'
        AlwaysPullImages), so a digest alone never opens someone else's private image."""
        meta_path = self._images / _hex(digest) / _META
        return meta_path.is_file() and not json.loads(meta_path.read_text()).get("private")

    def _unpack(
        self, folder: Path, config: dict[str, Any], layers: list[str], *, private: bool
    ) -> int:
        """The image's root as a link copy of its layer chain; returns the layers unpacked now."""
        work = self._tmp / uuid.uuid4().hex
        work.mkdir()
        try:
            if layers:
                blobs = [self.blobs.path(digest) for digest in layers]
                chain_root, fresh = self._chains.build(blobs, layers, self._caps)
                link_copy(chain_root, work / "rootfs")
                unpacked_bytes = self._chains.total_bytes(chain_ids(layers)[-1])
            else:
                (work / "rootfs").mkdir(mode=0o755)
                fresh, unpacked_bytes = 0, 0
            self._add_mount_points(work / "rootfs")
            meta = {
                "config": config,
                "unpacked_bytes": unpacked_bytes,
                "layers": layers,
                "chains": chain_ids(layers),
                "private": private,
            }
            (work / _META).write_text(json.dumps(meta))
            work.rename(folder)
            return fresh
        except OSError as error:
            raise PullError(f"could not unpack the image: {error.strerror or error}") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _add_mount_points(self, rootfs: Path) -> None:
        """The sandbox mounts /proc, /dev, /tmp and /data over a read-only root: they must be
        folders (not links an image put there)."""
        for name in self._mount_points:
            path = rootfs / name
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                path.unlink()
            path.mkdir(mode=0o755, exist_ok=True)

    def size(self) -> int:
        """Blobs, plus what each layer chain wrote (an image root is links into its chain)."""
        total = sum(entry.stat().st_size for entry in self.blobs.root.iterdir())
        for chain in self._chains.root.glob(f"*/{CHAIN_META}"):
            total += self._chains.own_bytes(chain.parent.name)
        for meta_path in self._images.glob(f"*/{_META}"):
            meta = json.loads(meta_path.read_text())
            if "chains" not in meta:  # unpacked whole, before layer chains
                total += int(meta["unpacked_bytes"])
        return total

    def _evict(self) -> None:
        with self._lock:
            if self.size() <= self._max_bytes:
                return
            images = sorted(self._images.glob(f"*/{_META}"), key=lambda p: p.stat().st_mtime)
            for meta_path in images:
                digest = "sha256:" + meta_path.parent.name
                if digest in self._in_use or self._digest_locks.get(digest, _FREE).locked():
                    continue
                shutil.rmtree(meta_path.parent, ignore_errors=True)
                self._drop_unreferenced_blobs()
                if self.size() <= self._max_bytes:
                    return

    def _drop_unreferenced_blobs(self) -> None:
        if any(lock.locked() for lock in self._digest_locks.values()):
            return  # a pull in progress owns blobs no image names yet
        kept: set[str] = set()
        chains: set[str] = set()
        for meta_path in self._images.glob(f"*/{_META}"):
            meta = json.loads(meta_path.read_text())
            kept.update(meta["layers"])
            chains.update(meta.get("chains", ()))
        for blob in self.blobs.root.iterdir():
            if f"sha256:{blob.name}" not in kept and not blob.name.startswith("."):
                blob.unlink(missing_ok=True)
        self._chains.drop_except(chains)


_FREE = threading.Lock()


def _hex(digest: str) -> str:
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise PullError(f"not a sha256 digest: {digest!r}")
    return digest.removeprefix("sha256:")
