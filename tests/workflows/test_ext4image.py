"""Quota images written from mkfs.ext4's blocks read back as the image mkfs made, and pass fsck."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import missing_need
from workflows.engines.local import ext4image
from workflows.engines.local.ext4image import Ext4Images
from workflows.engines.local.quota import DiskQuotas

_MiB = 1024 * 1024


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        missing_need(f"needs {name} (e2fsprogs)")
    return path


class _Mkfs:
    """The quota's own way: a sparse file a little larger than the limit, formatted ext4."""

    def __init__(self) -> None:
        self.tool = _tool("mkfs.ext4")
        self.runs: list[int] = []

    def __call__(self, image: Path, limit_bytes: int) -> None:
        self.runs.append(limit_bytes)
        DiskQuotas({"mkfs.ext4": self.tool})._format(image, limit_bytes)


def _same_content(first: Path, second: Path) -> bool:
    with first.open("rb") as a, second.open("rb") as b:
        while True:
            chunk = a.read(_MiB)
            if chunk != b.read(_MiB):
                return False
            if not chunk:
                return True


def test_a_later_image_reads_as_the_one_mkfs_made_and_stays_sparse(tmp_path: Path) -> None:
    mkfs = _Mkfs()
    images = Ext4Images(mkfs)
    images.make(tmp_path / "first.img", 256 * _MiB)
    images.make(tmp_path / "second.img", 256 * _MiB)
    images.make(tmp_path / "third.img", 256 * _MiB)
    assert mkfs.runs == [256 * _MiB]  # once for the size
    first, second = tmp_path / "first.img", tmp_path / "second.img"
    assert second.stat().st_size == first.stat().st_size
    assert _same_content(first, second)
    # Only the non-zero blocks were written: a sparse file, no larger on disk than mkfs's own.
    assert second.stat().st_blocks * 512 < second.stat().st_size // 100
    assert second.stat().st_blocks <= first.stat().st_blocks
    assert (second.stat().st_mode & 0o777) == 0o600
    check = subprocess.run(
        [_tool("e2fsck"), "-f", "-n", str(second)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_each_size_runs_mkfs_once(tmp_path: Path) -> None:
    mkfs = _Mkfs()
    images = Ext4Images(mkfs)
    for name, size in (("a", 64), ("b", 128), ("c", 64), ("d", 128)):
        images.make(tmp_path / f"{name}.img", size * _MiB)
    assert mkfs.runs == [64 * _MiB, 128 * _MiB]
    assert _same_content(tmp_path / "b.img", tmp_path / "d.img")
    assert not _same_content(tmp_path / "a.img", tmp_path / "b.img")


def test_a_size_with_too_much_to_keep_runs_mkfs_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ext4image, "_MAX_KEPT_BYTES", 4096)
    mkfs = _Mkfs()
    images = Ext4Images(mkfs)
    images.make(tmp_path / "a.img", 64 * _MiB)
    images.make(tmp_path / "b.img", 64 * _MiB)
    assert mkfs.runs == [64 * _MiB, 64 * _MiB]


def test_a_new_image_replaces_a_file_but_never_follows_a_link(tmp_path: Path) -> None:
    mkfs = _Mkfs()
    images = Ext4Images(mkfs)
    images.make(tmp_path / "a.img", 64 * _MiB)
    stale = tmp_path / "b.img"
    stale.write_bytes(b"x" * 10_000_000)
    images.make(stale, 64 * _MiB)
    assert _same_content(tmp_path / "a.img", stale)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"keep")
    os.symlink(target, tmp_path / "link.img")
    with pytest.raises(OSError):
        images.make(tmp_path / "link.img", 64 * _MiB)
    assert target.read_bytes() == b"keep"


def test_the_sizes_kept_are_bounded_together_the_least_recently_used_going_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mkfs = _Mkfs()
    images = Ext4Images(mkfs)
    images.make(tmp_path / "probe.img", 64 * _MiB)
    layout = ext4image._read(tmp_path / "probe.img")
    assert layout is not None
    one_size = layout.kept_bytes
    monkeypatch.setattr(ext4image, "_MAX_TOTAL_BYTES", one_size * 2 + one_size // 2)
    images.make(tmp_path / "a.img", 65 * _MiB)  # two sizes kept: 64 and 65 MiB
    images.make(tmp_path / "b.img", 64 * _MiB)  # 64 is now the most recently used
    images.make(tmp_path / "c.img", 66 * _MiB)  # a third: 65 MiB goes
    mkfs.runs.clear()
    for size in (64, 66, 65):
        images.make(tmp_path / f"again-{size}.img", size * _MiB)
    assert mkfs.runs == [65 * _MiB]


def test_an_image_holds_little_but_its_file_system(tmp_path: Path) -> None:
    """Every block an image holds is written to the disk for each job (the kernel syncs the
    image as it sets up the loop device): a 1 GiB file system takes a few dozen of them."""
    images = Ext4Images(_Mkfs())
    images.make(tmp_path / "first.img", 1024 * _MiB)  # by mkfs
    images.make(tmp_path / "disk.img", 1024 * _MiB)  # as every later job's
    assert (tmp_path / "disk.img").stat().st_blocks * 512 <= 128 * 1024
