"""Command lines for a step: trusted steps as plain child processes, the algorithm under bwrap.

The algorithm's command line is built in layers, each with one job:
``stage`` (as root: join the job's cgroups, a private mount namespace, the job's folders staged
under a tmpfs that the unprivileged user can reach, read-only ones behind an overlay so that
``/proc/self/mountinfo`` in the sandbox names no host path; rlimits; the seccomp filter on a
known descriptor; last, the drop to the algorithm's uid with no capabilities; see ``stage.py``)
→ ``bwrap`` (the sandbox itself).
Pure: builds argv lists and the staging plan, starts nothing.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workflows.contract import ALGORITHM_UID, PATH_MAP_ENV
from workflows.engines.local.dispatcher import StepPlan
from workflows.engines.local.runtime import Runtime

__all__ = [
    "ROOT_TMPFS_BYTES",
    "SECCOMP_FD",
    "SHM_BYTES",
    "STAGE_MODULE",
    "SandboxLimits",
    "algorithm_command",
    "path_map",
    "trusted_step_command",
]

# Staging point for the job's folders inside the private mount namespace: it only has to exist on
# the host; a tmpfs hides whatever is there, for this namespace only.
_STAGING = "/mnt"
# The module that stages the job's folders (run as root, then drops it and executes bwrap).
STAGE_MODULE = "workflows.engines.local.stage"
# Where the stage layer puts the seccomp filter for ``bwrap --seccomp``: the first descriptor
# after stdin, stdout and stderr (every other one is closed before it runs).
SECCOMP_FD = 3
_COMMANDS_DIR = "/opt/c2d/bin"
# Where the stage layer binds a pulled image's root (beside the job's numbered folders).
_IMAGE_STAGING = "image"
_USR_SYMLINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
# Every tmpfs of the sandbox is sized: its pages are memory, charged to the memory cgroup of
# the process that writes them (the job's), and bounded by this size even without cgroups.
# The root holds only mount points and symlinks (read-only once set up); /dev/shm is Docker's
# default size; /dev itself (bwrap cannot size it) is made read-only.
ROOT_TMPFS_BYTES = 4 * 2**20
SHM_BYTES = 64 * 2**20


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int
    file_size_bytes: int
    open_files: int = 1024
    # Address-space cap, used only when no memory cgroup enforces memory_bytes.
    address_space_bytes: int | None = None


def path_map(plan: StepPlan) -> dict[str, str]:
    """The contract mount points of a trusted step and the host folders behind them."""
    return {mount.target: str(mount.source) for mount in plan.mounts if mount.source is not None}


def trusted_step_command(
    plan: StepPlan, python: str, settings: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """argv and env of a trusted step (configure, publish) run with this installation's Python.

    ``settings`` are the operator's variables for the steps; the plan's own env wins over them.
    """
    argv = list(plan.argv)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = python
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **(settings or {}),
        PATH_MAP_ENV: json.dumps(path_map(plan)),
        **plan.env,
    }
    # Dies with the provider, so a crash never leaves a step running unsupervised.
    return ["setpriv", "--pdeathsig", "KILL", "--", *argv], env


def algorithm_command(
    plan: StepPlan,
    runtime: Runtime,
    limits: SandboxLimits,
    cgroup_procs: list[Path],
    tools: Mapping[str, str],
    python: str,
    seccomp: bool = True,
) -> list[str]:
    """The layered command line: ``python -m <stage> PLAN`` then bwrap."""
    staged = [(f"{_STAGING}/{i}", m) for i, m in enumerate(plan.mounts) if m.source is not None]
    stage_plan = {
        "cgroup_procs": [str(procs) for procs in cgroup_procs],
        "staging": _STAGING,
        "binds": [[str(m.source), os.path.basename(s), m.read_only] for s, m in staged]
        + ([[runtime.root, _IMAGE_STAGING, True]] if runtime.root else []),
        "rlimits": _rlimits(limits),
        "seccomp_fd": SECCOMP_FD if seccomp else None,
        "user": [ALGORITHM_UID, ALGORITHM_UID],
    }
    staged_at = {id(m): s for s, m in staged}
    return [
        python,
        "-m",
        STAGE_MODULE,
        json.dumps(stage_plan),
        *_bwrap(plan, runtime, staged_at, tools["bwrap"], SECCOMP_FD if seccomp else None),
    ]


def _rlimits(limits: SandboxLimits) -> dict[str, int]:
    rlimits = {
        "cpu": limits.cpu_seconds,
        "fsize": limits.file_size_bytes,
        "nofile": limits.open_files,
        "core": 0,
    }
    if limits.address_space_bytes:
        rlimits["as"] = limits.address_space_bytes
    return rlimits


def _bwrap(
    plan: StepPlan, runtime: Runtime, staged: dict[int, str], bwrap: str, seccomp_fd: int | None
) -> list[str]:
    uid = str(ALGORITHM_UID)
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
    if seccomp_fd is not None:
        # Applied by bwrap right before it executes the algorithm (see seccomp.py).
        args += ["--seccomp", str(seccomp_fd)]
    inner_uid, inner_gid = (str(i) for i in runtime.user) if runtime.user else (uid, uid)
    args += ["--die-with-parent", "--new-session", "--uid", inner_uid, "--gid", inner_gid]
    args += ["--hostname", "c2d"]
    if runtime.root is not None:
        # The cache is root-only: the stage layer binds the image's root where bwrap (as the
        # unprivileged uid) can reach it, as it does the job's folders.
        args += _image_root(f"{_STAGING}/{_IMAGE_STAGING}")
    else:
        args += _host_root(runtime)
    for mount in plan.mounts:
        if mount.source is None:
            if mount.size_bytes:
                args += ["--size", str(mount.size_bytes)]
            args += ["--tmpfs", mount.target]
        else:
            args += ["--ro-bind" if mount.read_only else "--bind", staged[id(mount)], mount.target]
    # Last of the mount operations: the root tmpfs (/, /data, /etc, ...) becomes read-only, as
    # the pod's readOnlyRootFilesystem; the mounts above it (/tmp, /data/outputs) keep theirs.
    # So does /dev (unsized); its devices and /dev/shm are mounts of their own and stay writable.
    args += ["--remount-ro", "/data" if runtime.root else "/", "--remount-ro", "/dev"]
    working_dir = plan.working_dir or runtime.working_dir
    if working_dir:
        args += ["--chdir", working_dir]
    args.append("--clearenv")
    path = f"{_COMMANDS_DIR}:{runtime.path}" if runtime.commands else runtime.path
    for name, value in {"PATH": path, **dict(runtime.env), **plan.env}.items():
        args += ["--setenv", name, value]
    return [*args, "--", *plan.argv]


def _host_root(runtime: Runtime) -> list[str]:
    """A small tmpfs as /, the runtime's host folders bound read-only into it."""
    args = ["--size", str(ROOT_TMPFS_BYTES), "--tmpfs", "/"]
    args += ["--dev", "/dev", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm", "--proc", "/proc"]
    for bind in runtime.binds:
        args += ["--ro-bind", bind, bind]
    if "/usr" in runtime.binds:
        for name in _USR_SYMLINKS:
            if os.path.islink(f"/{name}"):
                args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
    args += ["--dir", "/etc"]
    for etc_file in _ETC_FILES:
        args += ["--ro-bind-try", etc_file, etc_file]
    for name, target in sorted(runtime.commands.items()):
        args += ["--symlink", target, f"{_COMMANDS_DIR}/{name}"]
    return args


def _image_root(root: str) -> list[str]:
    """A pulled image's root read-only as / (the cache made /proc, /dev, /tmp and /data folders
    in it); /data is a small tmpfs of its own so the job's folders get mount points there."""
    args = ["--ro-bind", root, "/"]
    args += ["--dev", "/dev", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm", "--proc", "/proc"]
    return [*args, "--size", str(ROOT_TMPFS_BYTES), "--tmpfs", "/data"]


def cpu_seconds(duration: int, cpus: float) -> int:
    """CPU time the algorithm may use: all its CPUs for the whole duration, plus slack."""
    return math.ceil(duration * max(cpus, 1.0)) + 5
