"""Drop root for the algorithm's uid and gid, with no capability left in any set.

The stage layer calls ``drop_to`` last, as root, right before it executes bwrap: what ``setpriv
--reuid --regid --clear-groups --inh-caps=-all --bounding-set=-all`` did, by system calls. The
setpriv program cost a process image of its own per job (its dynamic loading, about 1.6 ms of
CPU per job in a burst here). The sets are read back from ``/proc/self/status`` before bwrap
runs: a kernel that kept any capability is a refusal, never a sandbox that holds one.
"""

from __future__ import annotations

import ctypes
import errno
import os

__all__ = ["CAPABILITY_SETS", "PrivilegesKept", "drop_to", "status_fields", "warm"]

# Every capability set of a process as /proc/<pid>/status names it.
CAPABILITY_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
_PR_CAPBSET_READ = 23
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_CAP_LAST_CAP = "/proc/sys/kernel/cap_last_cap"
_STATUS = "/proc/self/status"
_READ_BYTES = 1 << 16


class PrivilegesKept(Exception):
    """The process still has a capability, or an id or group it should have lost."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


# Looked up when the module is imported (in the step server, before it forks): each lookup
# builds a function object, which the forked stage layer would otherwise build again.
_libc = ctypes.CDLL(None, use_errno=True)
_libc_prctl = _libc.prctl
_libc_prctl.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
_libc_capset = _libc.capset
_libc_capset.argtypes = [ctypes.POINTER(_CapHeader), ctypes.POINTER(_CapData)]


def drop_to(uid: int, gid: int) -> None:
    """Become ``uid``:``gid`` (real, effective, saved) with no supplementary group and empty
    capability sets (bounding and ambient included); raise ``PrivilegesKept`` otherwise."""
    # The bounding set first: dropping from it needs CAP_SETPCAP, which the uid change ends.
    for capability in range(int(_read(_CAP_LAST_CAP)) + 1):
        _prctl(_PR_CAPBSET_DROP, capability)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    # Leaving uid 0 for good clears the permitted, effective and ambient sets; the inheritable
    # one stays and is emptied below (a program it names could regain them through file caps).
    os.setresuid(uid, uid, uid)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    empty = (_CapData * 2)()
    if _libc_capset(header, empty) != 0:
        _raise_errno("capset")
    # Before Linux 4.3 there is no ambient set (EINVAL): nothing to clear.
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, absent=errno.EINVAL)
    _check(uid, gid)


def warm() -> None:
    """Run by the step server before it forks (``stage.prepare``): the first foreign call
    through ctypes, and the first status parse, build what every later one reuses; done in each
    forked child instead, they cost it more than the system calls themselves."""
    _libc_prctl(_PR_CAPBSET_READ, 0, 0, 0, 0)
    _status()


def status_fields(text: str) -> dict[str, str]:
    """The fields of a ``/proc/<pid>/status`` text, by name."""
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def _status() -> dict[str, str]:
    return status_fields(_read(_STATUS))


def _check(uid: int, gid: int) -> None:
    status = _status()
    # A set the kernel does not show (CapAmb before 4.3) is one it does not have.
    kept = [name for name in CAPABILITY_SETS if int(status.get(name, "0"), 16) != 0]
    if kept:
        raise PrivilegesKept(f"capabilities kept in {', '.join(kept)}")
    if status["Uid"].split() != [str(uid)] * 4 or status["Gid"].split() != [str(gid)] * 4:
        raise PrivilegesKept(f"ids kept: uid {status['Uid'].split()}, gid {status['Gid'].split()}")
    if status["Groups"].split():
        raise PrivilegesKept(f"supplementary groups kept: {status['Groups'].strip()}")


def _read(path: str) -> str:
    """A small /proc file, with plain system calls: text I/O's layers cost more in a fresh
    fork than the calls they wrap."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, _READ_BYTES).decode()
    finally:
        os.close(fd)


def _prctl(option: int, argument: int, absent: int | None = None) -> None:
    """prctl(2); ``absent``: the errno of a kernel without the option, taken as done."""
    if _libc_prctl(option, argument, 0, 0, 0) != 0 and ctypes.get_errno() != absent:
        _raise_errno("prctl")


def _raise_errno(call: str) -> None:
    number = ctypes.get_errno()
    raise PrivilegesKept(f"{call}: {os.strerror(number)}")
