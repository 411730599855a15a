"""The image cache: one download for concurrent pulls, fresh folders, LRU that spares leases."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from steps.images.cache import ImageCache
from steps.images.layers import chain_ids
from steps.images.reference import parse_reference
from steps.images.registry import PullError, RegistryClient
from steps.readers.guard import SourcePolicy
from tests.steps.images.oci import Pusher, busybox_layout, digest_of, entry, layer


def test_two_jobs_of_one_image_pull_it_once(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    digest = pusher.layout(busybox_layout(), "tools/busybox", "1")
    cache = ImageCache(tmp_path / "cache", 2**30)
    ref = parse_reference(f"{pusher.registry}/tools/busybox", "1")
    leases = []
    threads = [
        threading.Thread(target=lambda: leases.append(cache.acquire(client, ref, 2**30)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [lease.digest for lease in leases] == [digest, digest]
    assert sorted(lease.cached for lease in leases) == [False, True]
    assert (cache.stats.pulls, cache.stats.hits) == (1, 1)
    root = leases[0].rootfs
    assert os.readlink(root / "bin/sh") == "busybox"
    assert all((root / name).is_dir() for name in ("proc", "dev", "tmp", "data"))
    assert leases[0].config["Env"] == ["GREETING=from-the-image"]
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    # Pinned and cached: no registry needed at all.
    offline = RegistryClient(client.policy)
    pinned = parse_reference(f"{pusher.registry}/tools/busybox", checksum=digest)
    assert cache.acquire(offline, pinned, 2**30).cached


def test_a_refused_image_leaves_nothing_a_job_could_find(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    pusher.image("tools/evil", "1", [layer(entry("ok", b"1"), entry("../x", b"1"))])
    cache = ImageCache(tmp_path / "cache", 2**30)
    with pytest.raises(PullError, match="climbs out"):
        cache.acquire(client, parse_reference(f"{pusher.registry}/tools/evil", "1"), 2**30)
    assert list((tmp_path / "cache" / "images").iterdir()) == []
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    assert not (tmp_path / "cache" / "x").exists()


def test_the_least_recently_used_image_goes_first_but_never_one_in_use(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    refs = []
    for name in ("one", "two", "three"):
        pusher.image(f"tools/{name}", "1", [layer(entry(name, os.urandom(40_000)))])
        refs.append(parse_reference(f"{pusher.registry}/tools/{name}", "1"))
    cache = ImageCache(tmp_path / "cache", 150_000)  # room for about one and a half images
    held = cache.acquire(client, refs[0], 2**30)
    second = cache.acquire(client, refs[1], 2**30)
    cache.release(second)
    cache.acquire(client, refs[2], 2**30)
    kept = sorted(p.name for p in (tmp_path / "cache" / "images").iterdir())
    assert held.digest.removeprefix("sha256:") in kept
    assert second.digest.removeprefix("sha256:") not in kept
    assert (held.rootfs / "one").is_file()


def test_two_images_on_one_base_unpack_it_once_and_never_change_each_other(
    pusher: Pusher, registry_address: str, tmp_path: Path
) -> None:
    base = layer(entry("usr/lib/base.txt", b"base"), entry("etc/conf", b"from base"))
    pusher.image("tools/a", "1", [base, layer(entry("a.txt", b"a"))])
    pusher.image(
        "tools/b",
        "1",
        [base, layer(entry("etc/.wh.conf"), entry("usr/lib/base.txt", b"changed by b"))],
    )
    lines: list[str] = []
    client = RegistryClient(
        SourcePolicy.parse("127.0.0.0/8"), frozenset({registry_address}), progress=lines.append
    )
    cache = ImageCache(tmp_path / "cache", 2**30)
    a = cache.acquire(client, parse_reference(f"{registry_address}/tools/a", "1"), 2**30)
    assert any(line.startswith("unpacked 2 of 2 layer(s)") for line in lines), lines
    lines.clear()
    b = cache.acquire(client, parse_reference(f"{registry_address}/tools/b", "1"), 2**30)
    assert any(line.startswith("unpacked 1 of 2 layer(s)") for line in lines), lines
    # b's layer replaced and deleted base files in b only; a still has the base as it was.
    assert (a.rootfs / "usr/lib/base.txt").read_bytes() == b"base"
    assert (a.rootfs / "etc/conf").read_bytes() == b"from base"
    assert (b.rootfs / "usr/lib/base.txt").read_bytes() == b"changed by b"
    assert not (b.rootfs / "etc/conf").exists()
    # The base's bytes are on disk once: a's file and the base chain's are one inode.
    chains = tmp_path / "cache" / "chains"
    base_chain = chains / chain_ids([digest_of(base)])[0]
    assert (a.rootfs / "etc/conf").stat().st_ino == (base_chain / "rootfs/etc/conf").stat().st_ino
    assert len(list(chains.iterdir())) == 3  # base, base+a, base+b
    # Evicting a (cap 0 once unleased) keeps b's root and drops only a's own chain.
    cache._max_bytes = 0
    cache.release(a)
    assert not a.rootfs.exists()
    assert (b.rootfs / "usr/lib/base.txt").read_bytes() == b"changed by b"
    assert len(list(chains.iterdir())) == 2
