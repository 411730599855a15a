"""The algorithm's seccomp filter: system calls a sandboxed algorithm never needs, refused.

Loaded by bubblewrap (``bwrap --seccomp FD``) as the last step before it executes the algorithm,
after its own namespace setup, so the filter constrains only the algorithm and its children.
Default action: allow; the listed calls fail with ``EPERM`` (``ENOSYS`` for ``clone3``, whose
flags live in memory a filter cannot inspect, so that libc falls back to ``clone``). System calls
of a foreign architecture (e.g. 32-bit ``int 0x80`` on x86-64) kill the process: libseccomp's
bad-architecture action.
"""

from __future__ import annotations

import errno
import os
import socket
from functools import cache

__all__ = [
    "BLOCKED_SYSCALLS",
    "NAMESPACE_FLAGS",
    "PERSONALITY_FLAGS",
    "SeccompUnavailable",
    "filter_bpf",
    "filter_fd",
]

# Debugging or reaching into other processes (their memory, descriptors, pages), kernel
# keyrings, BPF, perf, mounting and namespaces, modules, reboot/kexec, handle-based opens
# (escape from bind mounts), io_uring (not seen by seccomp), the clock, host and domain names,
# terminals, obsolete or x86 segment calls, and memory hidden from the kernel. Reviewed against
# Docker's default profile (which allows only what a container needs) and gVisor's system call
# table (what it implements): none is needed by a batch algorithm.
BLOCKED_SYSCALLS: tuple[str, ...] = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "process_madvise",
    "process_mrelease",
    "move_pages",
    "migrate_pages",
    "kcmp",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "unshare",
    "setns",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "modify_ldt",
    "vm86",
    "vm86old",
    "memfd_secret",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "vhangup",
    "fanotify_init",
    "quotactl_fd",
    "nfsservctl",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "create_module",
    "get_kernel_syms",
    "query_module",
)

# personality() with any of these flags weakens the process's own protections: no address space
# randomisation, executable data, a mapped page zero, the legacy mmap layout. (One comparison per
# argument in a rule: the query ``personality(0xffffffff)`` is refused with them.)
PERSONALITY_FLAGS: tuple[int, ...] = (
    0x0040000,  # ADDR_NO_RANDOMIZE
    0x0100000,  # MMAP_PAGE_ZERO
    0x0200000,  # ADDR_COMPAT_LAYOUT
    0x0400000,  # READ_IMPLIES_EXEC
)

# clone() with any of these flags would create a namespace.
NAMESPACE_FLAGS: tuple[int, ...] = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
)

# Only local (unix) and IP sockets; no packet, netlink, bluetooth, ... families.
_ALLOWED_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)
_SOCK_TYPE_MASK = 0xF  # the type without SOCK_NONBLOCK / SOCK_CLOEXEC
_RAW_TYPES = (socket.SOCK_RAW, 10)  # 10: SOCK_PACKET
_MAX_FAMILY = 64


class SeccompUnavailable(Exception):
    """libseccomp (or pyseccomp) is missing: the sandbox runs without a system-call filter."""


@cache
def filter_bpf() -> bytes:
    """The compiled BPF program for this machine's architecture (built once per process)."""
    try:
        import pyseccomp as sc  # type: ignore[import-untyped]  # ctypes, no stubs
    except (ImportError, OSError) as error:  # OSError: libseccomp.so not found by ctypes
        raise SeccompUnavailable(f"pyseccomp/libseccomp unavailable ({error})") from None
    deny = sc.ERRNO(errno.EPERM)
    rules = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in BLOCKED_SYSCALLS:
        try:
            rules.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):
            continue  # a call this kernel/architecture does not have
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    for flag in PERSONALITY_FLAGS:
        rules.add_rule(deny, "personality", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    for family in range(_MAX_FAMILY):
        if family not in _ALLOWED_FAMILIES:
            rules.add_rule(deny, "socket", sc.Arg(0, sc.EQ, family))
            rules.add_rule(deny, "socketpair", sc.Arg(0, sc.EQ, family))
    for sock_type in _RAW_TYPES:
        rules.add_rule(deny, "socket", sc.Arg(1, sc.MASKED_EQ, _SOCK_TYPE_MASK, sock_type))
    # A memory file, not a pipe: export writes the whole program before anything reads it.
    with os.fdopen(os.memfd_create("c2d-seccomp-build", 0), "w+b") as buffer:
        rules.export_bpf(buffer)
        buffer.seek(0)
        return buffer.read()


def filter_fd() -> int:
    """A fresh descriptor positioned at the start of the BPF program, for ``bwrap --seccomp``.

    Inheritable, so it survives the exec chain to bwrap; the caller closes it once started.
    """
    program = filter_bpf()
    fd = os.memfd_create("c2d-seccomp", 0)
    try:
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd
