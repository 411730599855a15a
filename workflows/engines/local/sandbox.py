"""Command lines for a step: trusted steps as plain child processes, the algorithm under bwrap.

The algorithm's command line is built in layers, each with one job:
``unshare`` (a private mount namespace, as root) → ``sh`` (join the job's cgroups, stage the
job's folders under a tmpfs that the unprivileged user can reach; read-only ones behind an
overlay, so that ``/proc/self/mountinfo`` in the sandbox names no host path) → ``prlimit`` →
``setpriv`` (drop to the algorithm's uid, no capabilities) → ``bwrap`` (the sandbox itself).
Pure: builds argv lists, starts nothing.
"""

from __future__ import annotations

import json
import math
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from steps.paths import PATH_MAP_ENV
from workflows.contract import ALGORITHM_UID
from workflows.engines.local.dispatcher import StepPlan
from workflows.engines.local.runtime import Runtime

__all__ = ["SandboxLimits", "algorithm_command", "path_map", "trusted_step_command"]

# Staging point for the job's folders inside the private mount namespace: it only has to exist on
# the host; a tmpfs hides whatever is there, for this namespace only.
_STAGING = "/mnt"
# An empty lower layer: overlayfs wants two when it has no upper one.
_EMPTY_LAYER = ".empty"
_COMMANDS_DIR = "/opt/c2d/bin"
_USR_SYMLINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")


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
    seccomp_fd: int | None = None,
) -> list[str]:
    """The layered command line; ``seccomp_fd`` (inherited by the chain) holds a BPF filter."""
    staged = [(f"{_STAGING}/{i}", m) for i, m in enumerate(plan.mounts) if m.source is not None]
    lines = ["set -e"]
    lines += [f"echo $$ > {shlex.quote(str(procs))}" for procs in cgroup_procs]
    lines.append(f"mount -t tmpfs -o mode=0755,size=64k c2d-staging {_STAGING}")
    # One mkdir for every staging point and no subshells: each program started here is a few
    # ms of CPU per job (the overlays' relative layers need the cwd, so it moves to the tmpfs).
    lines.append(f"cd {_STAGING}")
    lines.append(" ".join(["mkdir", _EMPTY_LAYER, *(os.path.basename(s) for s, _ in staged)]))
    for stage, mount in staged:
        lines.append(f"mount --bind {shlex.quote(str(mount.source))} {stage}")
        if mount.read_only:
            lines.append(_hide_source(stage))
    lines.append("cd /")
    lines.append('exec "$@"')
    script = "\n".join(lines)
    rlimits = [
        f"--cpu={limits.cpu_seconds}",
        f"--fsize={limits.file_size_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
    ]
    if limits.address_space_bytes:
        rlimits.append(f"--as={limits.address_space_bytes}")
    uid = str(ALGORITHM_UID)
    drop = [tools["setpriv"], "--reuid", uid, "--regid", uid, "--clear-groups"]
    drop += ["--inh-caps=-all", "--bounding-set=-all", "--"]
    return [
        tools["unshare"],
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        script,
        "c2d-sandbox",
        tools["prlimit"],
        *rlimits,
        "--",
        *drop,
        *_bwrap(plan, runtime, dict((id(m), s) for s, m in staged), tools["bwrap"], seccomp_fd),
    ]


def _hide_source(stage: str) -> str:
    """Cover a staged read-only bind with a read-only overlay of itself.

    A bind mount keeps its source's path in the mount table (mountinfo's root field: the host
    path of the job folder); an overlay is a file system of its own whose root is ``/``, and its
    options show the layers as given: relative to the staging tmpfs, they name nothing of the
    host. Where overlayfs is missing the plain bind stays (and the path shows).
    """
    name = os.path.basename(stage)
    options = f"ro,lowerdir={name}:{_EMPTY_LAYER}"
    return f"mount -t overlay -o {options} c2d-ro {name} || true"  # the cwd is the staging tmpfs


def _bwrap(
    plan: StepPlan, runtime: Runtime, staged: dict[int, str], bwrap: str, seccomp_fd: int | None
) -> list[str]:
    uid = str(ALGORITHM_UID)
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
    if seccomp_fd is not None:
        # Applied by bwrap right before it executes the algorithm (see seccomp.py).
        args += ["--seccomp", str(seccomp_fd)]
    args += ["--die-with-parent", "--new-session", "--uid", uid, "--gid", uid]
    args += ["--hostname", "c2d", "--tmpfs", "/", "--dev", "/dev", "--proc", "/proc"]
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
    for mount in plan.mounts:
        if mount.source is None:
            if mount.size_bytes:
                args += ["--size", str(mount.size_bytes)]
            args += ["--tmpfs", mount.target]
        else:
            args += ["--ro-bind" if mount.read_only else "--bind", staged[id(mount)], mount.target]
    # Last of the mount operations: the root tmpfs (/, /data, /etc, ...) becomes read-only, as
    # the pod's readOnlyRootFilesystem; the mounts above it (/tmp, /data/outputs) keep theirs.
    args += ["--remount-ro", "/"]
    if plan.working_dir:
        args += ["--chdir", plan.working_dir]
    args.append("--clearenv")
    path = f"{_COMMANDS_DIR}:{runtime.path}" if runtime.commands else runtime.path
    for name, value in {**plan.env, "PATH": path}.items():
        args += ["--setenv", name, value]
    return [*args, "--", *plan.argv]


def cpu_seconds(duration: int, cpus: float) -> int:
    """CPU time the algorithm may use: all its CPUs for the whole duration, plus slack."""
    return math.ceil(duration * max(cpus, 1.0)) + 5
