"""cgroup v2: one folder per job under ``<own group>/c2d``, with memory, pids, cpu (and io)
limits; ``cgroup.kill`` ends the whole tree; ``memory.events`` tells an OOM kill.

v2 allows processes only in leaves ("no internal processes"): a group that hands controllers to
its children must hold no process itself. At the root of a hierarchy that rule does not apply,
so a provider there simply creates ``/c2d``. Anywhere else (under systemd with ``Delegate=yes``
the provider's group is its unit's; in a container, its namespace's root) it first moves the
group's processes into the leaf ``c2d-provider``, then enables the controllers for ``c2d`` and
the jobs below it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from workflows.engines.local.cgroups import (
    CgroupLimits,
    Cgroups,
    CgroupsUnavailable,
    JobCgroup,
    flat_key,
    kill_listed,
    own_groups,
    remove_group,
)

__all__ = ["PROVIDER_LEAF", "CgroupsV2", "JobCgroupV2"]

REQUIRED = ("memory", "pids", "cpu")
OPTIONAL = ("io",)
PROVIDER_LEAF = "c2d-provider"
_CPU_PERIOD_US = 100_000
# Below the default 100 the provider's own reads and writes keep a larger share than any job.
_IO_WEIGHT = 50
_FIX = "run c2d as root at the hierarchy's root or under systemd with Delegate=yes"
_log = logging.getLogger("c2d.cgroups")


class CgroupsV2(Cgroups):
    def __init__(self, parent: Path, controllers: tuple[str, ...]) -> None:
        self._parent = parent
        self._controllers = controllers

    @classmethod
    def detect(cls, root: Path) -> CgroupsV2:
        if not (root / "cgroup.controllers").exists():
            raise CgroupsUnavailable(f"no cgroup v2 hierarchy at {root}")
        group = root / own_groups().get("", "/").lstrip("/")
        if group.name == PROVIDER_LEAF:
            # Moved there by an earlier engine of this same process.
            group = group.parent
        available = _read_words(group / "cgroup.controllers")
        missing = [c for c in REQUIRED if c not in available]
        if missing:
            raise CgroupsUnavailable(
                f"cgroup v2 group {group} lacks the {', '.join(missing)} controller(s)"
                " (delegate them: systemd Delegate=yes)"
            )
        controllers = REQUIRED + tuple(c for c in OPTIONAL if c in available)
        parent = group / "c2d"
        try:
            # Only the true root has no cgroup.type (a container's namespace root has one).
            if (group / "cgroup.type").exists():
                _leave_for_leaf(group)
            _enable(group, controllers)
            parent.mkdir(exist_ok=True)
            _enable(parent, controllers)
        except OSError as error:
            raise CgroupsUnavailable(
                f"cannot set up cgroup v2 group {parent}: {error.strerror or error} ({_FIX})"
            ) from None
        return cls(parent, controllers)

    @property
    def parent(self) -> Path:
        return self._parent

    def describe(self) -> str:
        return f"cgroup v2 ({', '.join(self._controllers)}) under {self._parent}"

    def create(self, name: str, limits: CgroupLimits) -> JobCgroup:
        group = JobCgroupV2(self._parent / name)
        group.path.mkdir(exist_ok=True)
        group.write("memory.max", str(limits.memory_bytes))
        # Absent without swap accounting; with it, no swap means the limit OOM-kills.
        group.write("memory.swap.max", "0", quiet=True)
        group.write("pids.max", str(limits.max_processes))
        quota = max(1000, int(limits.cpus * _CPU_PERIOD_US))
        group.write("cpu.max", f"{quota} {_CPU_PERIOD_US}")
        if "io" in self._controllers:
            # Needs an I/O scheduler or cost model that knows weights; without one, no file.
            group.write("io.weight", f"default {_IO_WEIGHT}", quiet=True)
        return group

    def existing(self, name: str) -> JobCgroup | None:
        group = JobCgroupV2(self._parent / name)
        return group if group.path.exists() else None


class JobCgroupV2(JobCgroup):
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def procs_files(self) -> list[Path]:
        return [self.path / "cgroup.procs"]

    def write(self, name: str, value: str, *, quiet: bool = False) -> None:
        try:
            (self.path / name).write_text(value)
        except OSError:
            if not quiet:
                raise

    def oom_killed(self) -> bool:
        try:
            return flat_key((self.path / "memory.events").read_text(), "oom_kill") > 0
        except OSError:
            return False

    def kill_all(self) -> None:
        kill = self.path / "cgroup.kill"
        try:
            # One write kills every process in the group and its children, forks in flight too.
            kill.write_text("1")
        except FileNotFoundError:
            if self.path.exists():  # a kernel before 5.14: signal each process instead
                kill_listed(self.path / "cgroup.procs")
            return
        except OSError:
            kill_listed(self.path / "cgroup.procs")
            return
        for _ in range(200):
            if not self._populated():
                return
            time.sleep(0.01)
        _log.warning("processes survive in %s", self.path)

    def _populated(self) -> bool:
        try:
            return flat_key((self.path / "cgroup.events").read_text(), "populated") > 0
        except OSError:
            return False

    def remove(self) -> None:
        self.kill_all()
        remove_group(self.path)


def _read_words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


def _leave_for_leaf(group: Path) -> None:
    """Move every process of ``group`` (this provider, systemd's service) into its leaf."""
    leaf = group / PROVIDER_LEAF
    leaf.mkdir(exist_ok=True)
    for _ in range(20):
        pids = (group / "cgroup.procs").read_text().split()
        if not pids:
            return
        for pid in pids:
            try:
                (leaf / "cgroup.procs").write_text(pid)
            except ProcessLookupError:
                continue


def _enable(group: Path, controllers: tuple[str, ...]) -> None:
    enabled = _read_words(group / "cgroup.subtree_control")
    wanted = " ".join(f"+{c}" for c in controllers if c not in enabled)
    if wanted:
        (group / "cgroup.subtree_control").write_text(wanted)
