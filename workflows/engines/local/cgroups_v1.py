"""cgroup v1: a group per job in each of the memory, pids and cpu hierarchies."""

from __future__ import annotations

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

__all__ = ["CgroupsV1", "JobCgroupV1"]

CONTROLLERS = ("memory", "pids", "cpu")
_CPU_PERIOD_US = 100_000


class CgroupsV1(Cgroups):
    """The c2d parent group under this process's own group in each v1 controller."""

    def __init__(self, parents: dict[str, Path]) -> None:
        self._parents = parents

    @classmethod
    def detect(cls, root: Path) -> CgroupsV1:
        own = own_groups()
        parents: dict[str, Path] = {}
        for controller in CONTROLLERS:
            base = root / controller
            if not (base / "cgroup.procs").exists():
                raise CgroupsUnavailable(f"no cgroup v1 {controller} controller at {base}")
            parent = base / own.get(controller, "/").lstrip("/") / "c2d"
            try:
                parent.mkdir(exist_ok=True)
            except OSError as error:
                raise CgroupsUnavailable(f"cannot create {parent}: {error.strerror}") from None
            parents[controller] = parent
        return cls(parents)

    def describe(self) -> str:
        return "cgroup v1 (" + ", ".join(self._parents) + ")"

    def create(self, name: str, limits: CgroupLimits) -> JobCgroup:
        group = JobCgroupV1({c: parent / name for c, parent in self._parents.items()})
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
        group = JobCgroupV1({c: parent / name for c, parent in self._parents.items()})
        return group if any(path.exists() for path in group.paths.values()) else None


class JobCgroupV1(JobCgroup):
    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

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
        return flat_key(control, "oom_kill") > 0

    def kill_all(self) -> None:
        kill_listed(self.paths["pids"] / "cgroup.procs")

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths.values():
            remove_group(path)
