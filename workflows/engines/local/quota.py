"""A real total-size limit on what the algorithm writes: a loop-mounted ext4 image per job.

The algorithm's two writable folders, ``/data/outputs`` and ``/data/logs``, live on one small
file system of the job's own: a sparse image file in the job's working folder, formatted ext4
(no journal, no reserved blocks, no room kept to grow it) and loop-mounted with
``nosuid,nodev``; its ``outputs`` and ``logs`` folders are bind-mounted over the job
volume's. When it is full, writes fail with ``ENOSPC``; an algorithm that then fails ends with
status 42. The image is a little larger than ``disk_bytes`` (file system metadata), so a single
file still meets ``RLIMIT_FSIZE`` first.
Everything mounted under the job's folder is unmounted when the job ends (also after a crash:
the mount table, not memory, says what to release), and when the provider stops before the job
ends: then the image stays, mounted again by the next start so that publish still stores it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from workflows.contract import ALGORITHM_UID
from workflows.engines.local import mounts
from workflows.engines.local.ext4image import Ext4Images
from workflows.engines.local.imagepool import ImagePool

__all__ = ["DiskQuotas", "QuotaMount", "mounts_under"]

_log = logging.getLogger("c2d.quota")
_IMAGE = "disk.img"
_MOUNT = "disk"
# The job's file system: no set-uid programs, no device files take effect on it.
_FS_FLAGS = mounts.MS_NOSUID | mounts.MS_NODEV
# Spare images (imagepool.py), next to the jobs' folders so that taking one is a rename.
_POOL = ".quota-images"
# Considered full when less than this is left (ext4 keeps a few blocks it never hands out).
_FULL_MARGIN = 1024 * 1024
_MIN_INODES = 4096
_TIMEOUT = 60


@dataclass(frozen=True)
class QuotaMount:
    root: Path
    limit_bytes: int

    def full(self) -> bool:
        """True when the algorithm's folders have no room left."""
        try:
            info = os.statvfs(self.root)
        except OSError:
            return False
        return info.f_bavail * info.f_frsize < _FULL_MARGIN


class DiskQuotas:
    """Creates and releases the per-job file systems; ``detect`` says whether this machine can."""

    def __init__(self, tools: dict[str, str]) -> None:
        self._tools = tools
        self._images = Ext4Images(self._format)
        self._pool = ImagePool(self._images.make)

    @classmethod
    def detect(cls) -> DiskQuotas | None:
        """None when loop devices or the tools are missing (then only per-file rlimits remain)."""
        if os.geteuid() != 0 or not Path("/dev/loop-control").exists():
            return None
        # Mounts, loop devices and unmounts are system calls (mounts.py); only mkfs is a program.
        tools = {name: shutil.which(name) for name in ("mkfs.ext4",)}
        if any(path is None for path in tools.values()):
            return None
        return cls({name: path for name, path in tools.items() if path is not None})

    def close(self) -> None:
        """Stop preparing spare images and delete them."""
        self._pool.close()

    def describe(self) -> str:
        return "per-job ext4 loop image for /data/outputs and /data/logs"

    def attach(self, work_dir: Path, outputs: Path, logs: Path, limit_bytes: int) -> QuotaMount:
        """Mount a fresh file system of ``limit_bytes`` over ``outputs`` and ``logs``."""
        image = work_dir / _IMAGE
        root = work_dir / _MOUNT
        self.release(work_dir)
        image.unlink(missing_ok=True)
        # A spare image formatted in the background (never used before), else a new one now.
        if not self._pool.take(work_dir.parent / _POOL, limit_bytes, image):
            self._images.make(image, limit_bytes)
        root.mkdir(mode=0o700, exist_ok=True)
        mounts.attach_loop(image, root, _FS_FLAGS)
        for folder, target in (("outputs", outputs), ("logs", logs)):
            inside = root / folder
            inside.mkdir(exist_ok=True)
            os.chown(inside, ALGORITHM_UID, ALGORITHM_UID)
            inside.chmod(0o755)
            target.mkdir(parents=True, exist_ok=True)
            # What configure left there (the empty algorithm log) moves onto the new file system.
            for entry in target.iterdir():
                if entry.is_file() and not entry.is_symlink():
                    shutil.copy2(entry, inside / entry.name)
                    os.chown(inside / entry.name, ALGORITHM_UID, ALGORITHM_UID)
            mounts.mount(str(inside), target, None, mounts.MS_BIND)
        return QuotaMount(root=root, limit_bytes=limit_bytes)

    def release(self, work_dir: Path) -> None:
        """Unmount everything under ``work_dir`` (deepest first); loop devices free themselves."""
        for point in mounts_under(work_dir):
            try:
                mounts.umount(point)
            except OSError:
                # Busy (a process of the job not yet reaped): detach now, freed when it exits.
                with contextlib.suppress(OSError):
                    mounts.umount(point, detach=True)
        with contextlib.suppress(OSError):
            (work_dir / _IMAGE).unlink()

    def set_aside(self, work_dir: Path) -> None:
        """Unmount what is mounted under ``work_dir`` but keep the image, for ``restore``.

        At a busy mount it stops, leaving that one and the file system's own mount (the last)
        in place for ``restore`` to take as they are: detached instead, the file system would
        live on unseen, and ``restore`` would mount the same image a second time.
        """
        for point in mounts_under(work_dir):
            try:
                mounts.umount(point)
            except OSError:
                _log.warning("%s is busy: it stays mounted until the job ends", point)
                return

    def restore(self, work_dir: Path, outputs: Path, logs: Path) -> None:
        """Mount a kept image over ``outputs`` and ``logs`` again, skipping what still is; no
        image (the algorithm never started), nothing to do."""
        image = work_dir / _IMAGE
        root = work_dir / _MOUNT
        if not image.is_file():
            return
        mounted = set(mounts_under(work_dir))
        if str(root.resolve()) not in mounted:
            mounts.attach_loop(image, root, _FS_FLAGS)
        for folder, target in (("outputs", outputs), ("logs", logs)):
            if str(target.resolve()) not in mounted:
                mounts.mount(str(root / folder), target, None, mounts.MS_BIND)

    def _format(self, image: Path, limit_bytes: int) -> None:
        """A new sparse image a little larger than ``limit_bytes``, formatted ext4."""
        with image.open("wb") as handle:
            handle.truncate(limit_bytes + limit_bytes // 16 + 4 * 1024 * 1024)
        inodes = max(_MIN_INODES, limit_bytes // 65536)
        self._run(
            # No resize inode: the file system is never grown, and the blocks it reserves for
            # growing were 137 of the 156 a 1 GiB image holds: each one written to the disk
            # again for every job (the kernel syncs the image when it sets up the loop device).
            self._tools["mkfs.ext4"], "-q", "-F", "-m", "0", "-O", "^has_journal,^resize_inode",
            "-N", str(inodes), str(image),
        )  # fmt: skip

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_TIMEOUT, check=False, cwd="/"
        )
        if done.returncode != 0:
            _log.warning("%s failed: %s", Path(argv[0]).name, done.stderr.strip()[:300])
            raise RuntimeError(f"{Path(argv[0]).name} exited with {done.returncode}")


def mounts_under(folder: Path) -> list[str]:
    """Mount points at or below ``folder``, deepest first, from this process's mount table."""
    base = str(folder.resolve())
    found: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split(" ")
            if len(fields) > 4:
                point = _unescape(fields[4])
                if point == base or point.startswith(base + "/"):
                    found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal: "\040".
    if "\\" not in field:
        return field  # nearly every line: the table is read at every job's end
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
