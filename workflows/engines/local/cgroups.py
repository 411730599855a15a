"""The seam the launcher uses for per-job control groups: limits, the two backends' common
interface, and what both do the same way (kill every process listed, remove a freed group)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CGROUP_ROOT",
    "CgroupLimits",
    "Cgroups",
    "CgroupsUnavailable",
    "JobCgroup",
    "flat_key",
    "kill_listed",
    "own_groups",
    "remove_group",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
_log = logging.getLogger("c2d.cgroups")


class CgroupsUnavailable(Exception):
    """No backend can enforce memory, process-count and CPU limits; the text says why."""


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int
    max_processes: int
    cpus: float


class JobCgroup(ABC):
    """One job's group (one folder in v2, one per controller in v1)."""

    @property
    @abstractmethod
    def procs_files(self) -> list[Path]:
        """The ``cgroup.procs`` files a process writes its pid to, to join the group."""

    @abstractmethod
    def oom_killed(self) -> bool: ...

    @abstractmethod
    def kill_all(self) -> None:
        """SIGKILL every process in the group, new forks included, until it is empty."""

    @abstractmethod
    def remove(self) -> None:
        """Kill what is left and delete the group."""


class Cgroups(ABC):
    """Where job groups are made; ``detect_cgroups`` (cgroups_detect.py) picks the backend."""

    @abstractmethod
    def describe(self) -> str:
        """Backend and controllers, one phrase (logged at start, shown by ``GET /``)."""

    @abstractmethod
    def create(self, name: str, limits: CgroupLimits) -> JobCgroup: ...

    @abstractmethod
    def existing(self, name: str) -> JobCgroup | None:
        """The group a previous run left behind, if any (removed on restart)."""


def kill_listed(procs: Path) -> None:
    """SIGKILL every pid ``procs`` lists until it lists none (forks in between are caught)."""
    for _ in range(100):
        try:
            pids = [int(line) for line in procs.read_text().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    _log.warning("processes survive in %s", procs.parent)


def remove_group(path: Path) -> None:
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            # The kernel frees a group a moment after its last process is reaped.
            time.sleep(0.02)
    _log.warning("cannot remove %s", path)


def own_groups(proc_self_cgroup: Path = Path("/proc/self/cgroup")) -> dict[str, str]:
    """Controller (``""`` for the v2 hierarchy) → this process's group path."""
    groups: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in proc_self_cgroup.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                groups[controller] = path
    return groups


def flat_key(text: str, key: str) -> int:
    """The value of ``key`` in a flat-keyed file such as ``memory.events`` (0 when absent)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            with contextlib.suppress(ValueError):
                return int(value.strip())
    return 0
