"""Layer chains: each prefix of an image's layers unpacked once, shared by every image on it.

A chain is the root after layers 1..k, keyed like Docker's ChainID (sha256 over the parent chain
and the layer digest). Chain k is a hard-link copy of chain k-1 (folders made anew, files linked,
symlinks recreated; nothing followed) with layer k unpacked on top: the unpacker never writes a
file in place (it unlinks and recreates), so a chain never changes what another chain or image
links to. Two images on one base therefore decompress and write the base once; each further
image root costs one link per file. An image's root is a link copy of its last chain.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import uuid
from pathlib import Path

from steps.images.unpack import UnpackCaps, Unpacked, unpack_layers

__all__ = ["CHAIN_META", "LayerChains", "chain_ids", "link_copy"]

CHAIN_META = "chain.json"


def chain_ids(layers: list[str]) -> list[str]:
    """The chain id (hex) of each prefix of ``layers`` (digests, lowest first)."""
    ids: list[str] = []
    parent = ""
    for digest in layers:
        parent = hashlib.sha256(f"{parent} {digest}".encode()).hexdigest()
        ids.append(parent)
    return ids


class LayerChains:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self._tmp = tmp
        root.mkdir(exist_ok=True)

    def build(self, blobs: list[Path], digests: list[str], caps: UnpackCaps) -> tuple[Path, int]:
        """The root of the whole chain (made for the prefixes not yet here) and how many
        layers were unpacked now."""
        ids = chain_ids(digests)
        have = 0
        for n, chain in enumerate(ids, 1):
            if (self.root / chain / CHAIN_META).is_file():
                have = n
        below = self._counted(ids[have - 1]) if have else None
        for n in range(have, len(ids)):
            parent = self.root / ids[n - 1] / "rootfs" if n else None
            below = self._make(ids[n], parent, blobs[n], caps, below)
        return self.root / ids[-1] / "rootfs", len(ids) - have

    def total_bytes(self, chain: str) -> int:
        """The bytes of the whole root after this chain's layers."""
        return self._counted(chain).bytes

    def own_bytes(self, chain: str) -> int:
        """The bytes the chain's own layer wrote (what it adds on disk to its parent)."""
        meta = json.loads((self.root / chain / CHAIN_META).read_text())
        return int(meta["layer_bytes"])

    def drop_except(self, kept: set[str]) -> None:
        for folder in self.root.iterdir():
            if folder.name not in kept:
                shutil.rmtree(folder, ignore_errors=True)

    def _counted(self, chain: str) -> Unpacked:
        meta = json.loads((self.root / chain / CHAIN_META).read_text())
        return Unpacked(int(meta["bytes"]), int(meta["files"]))

    def _make(
        self, chain: str, parent: Path | None, blob: Path, caps: UnpackCaps, below: Unpacked | None
    ) -> Unpacked:
        work = self._tmp / uuid.uuid4().hex
        work.mkdir()
        try:
            rootfs = work / "rootfs"
            if parent is None:
                rootfs.mkdir(mode=0o755)
            else:
                link_copy(parent, rootfs)
            unpacked = unpack_layers([blob], rootfs, caps, below)
            before = below.bytes if below else 0
            meta = {"bytes": unpacked.bytes, "files": unpacked.files}
            (work / CHAIN_META).write_text(
                json.dumps({**meta, "layer_bytes": unpacked.bytes - before})
            )
            try:
                work.rename(self.root / chain)
            except OSError as error:
                # Another pull made the same chain meanwhile: theirs serves.
                if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            return unpacked
        finally:
            shutil.rmtree(work, ignore_errors=True)


def link_copy(source: Path, target: Path) -> None:
    """``target`` as a copy of ``source`` whose files are hard links (copied only where an inode
    has no links left); nothing is followed, owners and modes kept."""
    info = source.lstat()
    target.mkdir(mode=0o700)
    for entry in os.scandir(source):
        here = target / entry.name
        entry_stat = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(entry_stat.st_mode):
            link_copy(Path(entry.path), here)
        elif stat.S_ISLNK(entry_stat.st_mode):
            os.symlink(os.readlink(entry.path), here)
            _chown(here, entry_stat)
        else:
            try:
                os.link(entry.path, here, follow_symlinks=False)
            except OSError as error:
                if error.errno != errno.EMLINK:
                    raise
                shutil.copy2(entry.path, here, follow_symlinks=False)
                _chown(here, entry_stat)
    _chown(target, info)
    os.chmod(target, stat.S_IMODE(info.st_mode))


def _chown(path: Path, info: os.stat_result) -> None:
    if os.geteuid() == 0:
        os.chown(path, info.st_uid, info.st_gid, follow_symlinks=False)
