"""Which cgroup backend this host offers: v2 where the hierarchy at the root is cgroup2 (the
default of current distributions), else v1's per-controller hierarchies."""

from __future__ import annotations

from pathlib import Path

from workflows.engines.local.cgroups import CGROUP_ROOT, Cgroups, CgroupsUnavailable
from workflows.engines.local.cgroups_v1 import CgroupsV1
from workflows.engines.local.cgroups_v2 import CgroupsV2

__all__ = ["detect_cgroups"]


def detect_cgroups(root: Path = CGROUP_ROOT) -> Cgroups:
    """The first backend that can enforce memory, pids and CPU limits here, or
    CgroupsUnavailable saying what each backend lacks."""
    problems = []
    for backend in (CgroupsV2, CgroupsV1):
        try:
            return backend.detect(root)
        except CgroupsUnavailable as problem:
            problems.append(str(problem))
    raise CgroupsUnavailable("; ".join(problems))
