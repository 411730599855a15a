"""mount(2), umount2(2) and loop devices by system call, without starting ``mount``/``umount``.

Each ``mount`` or ``umount`` program costs a process start (a few ms of CPU, the library
loading of util-linux); a job's disk quota needed six. These do the same calls from the engine
process: ``attach_loop`` is what ``mount -o loop`` does (a free device from
``/dev/loop-control``, bound to the image with auto-clear, so the device frees itself when the
file system is unmounted).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
from pathlib import Path

__all__ = [
    "MS_BIND",
    "MS_NODEV",
    "MS_NOSUID",
    "MS_PRIVATE",
    "MS_RDONLY",
    "MS_REC",
    "attach_loop",
    "mount",
    "umount",
    "unshare_mounts",
]

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
_CLONE_NEWNS = 0x20000
_MNT_DETACH = 0x2
_LOOP_SET_FD = 0x4C00
_LOOP_CLR_FD = 0x4C01
_LOOP_SET_STATUS64 = 0x4C04
_LOOP_CONFIGURE = 0x4C0A
_LOOP_CTL_GET_FREE = 0x4C82
_LO_FLAGS_AUTOCLEAR = 4
_ATTEMPTS = 20

_libc = ctypes.CDLL(None, use_errno=True)


class _LoopInfo64(ctypes.Structure):
    _fields_ = [
        ("lo_device", ctypes.c_uint64),
        ("lo_inode", ctypes.c_uint64),
        ("lo_rdevice", ctypes.c_uint64),
        ("lo_offset", ctypes.c_uint64),
        ("lo_sizelimit", ctypes.c_uint64),
        ("lo_number", ctypes.c_uint32),
        ("lo_encrypt_type", ctypes.c_uint32),
        ("lo_encrypt_key_size", ctypes.c_uint32),
        ("lo_flags", ctypes.c_uint32),
        ("lo_file_name", ctypes.c_uint8 * 64),
        ("lo_crypt_name", ctypes.c_uint8 * 64),
        ("lo_encrypt_key", ctypes.c_uint8 * 32),
        ("lo_init", ctypes.c_uint64 * 2),
    ]


class _LoopConfig(ctypes.Structure):
    _fields_ = [
        ("fd", ctypes.c_uint32),
        ("block_size", ctypes.c_uint32),
        ("info", _LoopInfo64),
        ("reserved", ctypes.c_uint64 * 8),
    ]


def mount(
    source: str, target: str | Path, fstype: str | None, flags: int, options: str | None = None
) -> None:
    result = _libc.mount(
        source.encode(),
        str(target).encode(),
        fstype.encode() if fstype else None,
        flags,
        options.encode() if options else None,
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {source} on {target}: {os.strerror(code)}")


def unshare_mounts() -> None:
    """A mount namespace of this process's own, nothing in it propagating back to the host."""
    if _libc.unshare(_CLONE_NEWNS) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unshare(CLONE_NEWNS): {os.strerror(code)}")
    mount("none", "/", None, MS_REC | MS_PRIVATE)


def umount(target: str | Path, *, detach: bool = False) -> None:
    if _libc.umount2(str(target).encode(), _MNT_DETACH if detach else 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"umount {target}: {os.strerror(code)}")


def attach_loop(image: Path, mount_on: Path, flags: int) -> None:
    """Bind ``image`` to a free loop device (auto-clear) and mount its ext4 on ``mount_on``."""
    backing = os.open(image, os.O_RDWR | os.O_CLOEXEC)
    try:
        control = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        try:
            for _ in range(_ATTEMPTS):
                number = fcntl.ioctl(control, _LOOP_CTL_GET_FREE)
                device = f"/dev/loop{number}"
                try:
                    loop = os.open(device, os.O_RDWR | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue  # udev has not made the node yet; ask again
                try:
                    if not _bind(loop, backing):
                        continue  # another thread took this device first
                    try:
                        # The device stays bound while mounted (auto-clear needs an opener).
                        mount(device, mount_on, "ext4", flags)
                    except OSError:
                        fcntl.ioctl(loop, _LOOP_CLR_FD)
                        raise
                    return
                finally:
                    os.close(loop)
        finally:
            os.close(control)
    finally:
        os.close(backing)
    raise OSError(errno.EBUSY, "no free loop device")


def _bind(loop: int, backing: int) -> bool:
    """LOOP_CONFIGURE (Linux ≥ 5.8), else LOOP_SET_FD + LOOP_SET_STATUS64; False when busy."""
    config = _LoopConfig(fd=backing)
    config.info.lo_flags = _LO_FLAGS_AUTOCLEAR
    try:
        fcntl.ioctl(loop, _LOOP_CONFIGURE, bytes(config))
        return True
    except OSError as error:
        if error.errno == errno.EBUSY:
            return False
        if error.errno not in (errno.EINVAL, errno.ENOTTY):
            raise
    try:
        fcntl.ioctl(loop, _LOOP_SET_FD, backing)
    except OSError as error:
        if error.errno == errno.EBUSY:
            return False
        raise
    try:
        fcntl.ioctl(loop, _LOOP_SET_STATUS64, bytes(config.info))
    except OSError:
        fcntl.ioctl(loop, _LOOP_CLR_FD)
        raise
    return True
