"""cgroup v1 groups per job: memory, process count and CPU limits, OOM detection, kill-all."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupLimits", "Cgroups", "JobCgroup"]

_ROOT = Path("/sys/fs/cgroup")
_CONTROLLERS = ("memory", "pids", "cpu")
_CPU_PERIOD_US = 100_000
_log = logging.getLogger("c2d.cgroups")


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int
    max_processes: int
    cpus: float


class Cgroups:
    """The c2d parent group under this process's own group in each v1 controller."""

    def __init__(self, parents: dict[str, Path]) -> None:
        self._parents = parents

    @classmethod
    def detect(cls) -> Cgroups | None:
        """None when the v1 controllers are missing or not writable (rlimits remain)."""
        own = _own_groups()
        parents: dict[str, Path] = {}
        for controller in _CONTROLLERS:
            base = _ROOT / controller
            if not (base / "cgroup.procs").exists():
                return None
            parent = base / own.get(controller, "/").lstrip("/") / "c2d"
            try:
                parent.mkdir(exist_ok=True)
            except OSError:
                return None
            parents[controller] = parent
        return cls(parents)

    def describe(self) -> str:
        return "cgroup v1 (" + ", ".join(self._parents) + ")"

    def create(self, name: str, limits: CgroupLimits) -> JobCgroup:
        group = JobCgroup({c: parent / name for c, parent in self._parents.items()})
        for path in group.paths.values():
            path.mkdir(exist_ok=True)
        group.write("memory", "memory.limit_in_bytes", str(limits.memory_bytes))
        # Without this the group could swap instead of being OOM-killed at its limit.
        group.write("memory", "memory.memsw.limit_in_bytes", str(limits.memory_bytes), quiet=True)
        group.write("memory", "memory.swappiness", "0", quiet=True)
        group.write("pids", "pids.max", str(limits.max_processes))
        group.write("cpu", "cpu.cfs_period_us", str(_CPU_PERIOD_US))
        group.write("cpu", "cpu.cfs_quota_us", str(max(1000, int(limits.cpus * _CPU_PERIOD_US))))
        return group

    def existing(self, name: str) -> JobCgroup | None:
        group = JobCgroup({c: parent / name for c, parent in self._parents.items()})
        return group if any(path.exists() for path in group.paths.values()) else None


@dataclass(frozen=True)
class JobCgroup:
    paths: dict[str, Path]

    @property
    def procs_files(self) -> list[Path]:
        return [path / "cgroup.procs" for path in self.paths.values()]

    def write(self, controller: str, name: str, value: str, *, quiet: bool = False) -> None:
        try:
            (self.paths[controller] / name).write_text(value)
        except OSError:
            if not quiet:
                raise

    def oom_killed(self) -> bool:
        try:
            control = (self.paths["memory"] / "memory.oom_control").read_text()
        except OSError:
            return False
        for line in control.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() not in ("", "0"):
                return True
        return False

    def kill_all(self) -> None:
        """SIGKILL every process in the group until it is empty (new forks are caught too)."""
        procs = self.paths["pids"] / "cgroup.procs"
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

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    # The kernel frees a group a moment after its last process is reaped.
                    time.sleep(0.02)


def _own_groups() -> dict[str, str]:
    groups: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                groups[controller] = path
    return groups
