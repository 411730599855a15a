"""The head of the algorithm's command line, as root: ``python -m workflows.engines.local.stage
PLAN_JSON NEXT...``.

It joins the job's cgroups, enters a private mount namespace, stages the job's folders under a
tmpfs the unprivileged user can reach (read-only ones behind an overlay of themselves, so that
``/proc/self/mountinfo`` in the sandbox names no host path), sets the rlimits, puts the seccomp
filter on the descriptor bwrap is told to read, drops to the algorithm's uid with no capability
(``privileges.py``), then executes ``NEXT`` (bwrap).

System calls, not programs: ``unshare``, ``sh``, ``mkdir``, one ``mount`` per folder and
``prlimit`` each cost a process start (the ``mount`` program also parses the mount table), about
20 ms of CPU per job together. The step server forks this module from its pre-started helper; a
launcher without one runs it as a new Python process. The plan is built by ``sandbox.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
from typing import Any

from workflows.engines.local import mounts, privileges
from workflows.engines.local.seccomp import SeccompUnavailable, filter_bpf, filter_fd

__all__ = ["RLIMITS", "main", "prepare"]

RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
    "as": resource.RLIMIT_AS,
}
# An empty lower layer: overlayfs wants two when it has no upper one.
_EMPTY_LAYER = ".empty"


def prepare() -> None:
    """Run once by the step server's helper before it forks (see ``_zygote.py``): the seccomp
    program is compiled there, and every child inherits it (importing pyseccomp runs
    ``ldconfig``; compiling takes milliseconds); so is the drop's first ctypes call."""
    with contextlib.suppress(SeccompUnavailable):
        filter_bpf()
    privileges.warm()


def main(argv: list[str] | None = None) -> int:
    """``argv``: the plan, then the command (default: this process's arguments)."""
    argv = sys.argv[1:] if argv is None else argv
    plan: dict[str, Any] = json.loads(argv[0])
    command = argv[1:]
    if not command:
        raise SystemExit("stage: no command to execute after the plan")
    for procs in plan["cgroup_procs"]:
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))
    mounts.unshare_mounts()
    _stage(plan["staging"], plan["binds"])
    for name, value in plan["rlimits"].items():
        resource.setrlimit(RLIMITS[name], (value, value))
    if plan["seccomp_fd"] is not None:
        _filter_on(int(plan["seccomp_fd"]))
    uid, gid = (int(i) for i in plan["user"])
    try:
        privileges.drop_to(uid, gid)
    except (OSError, privileges.PrivilegesKept) as error:
        raise SystemExit(f"stage: cannot drop to uid {uid}: {error}") from None
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the algorithm writes its log file; nothing reads this stdout
    os.close(devnull)
    os.execv(command[0], command)  # noqa: S606 (bwrap, no shell involved)


def _stage(staging: str, binds: list[list[Any]]) -> None:
    mounts.mount("c2d-staging", staging, "tmpfs", 0, "mode=0755,size=64k")
    # The overlays' layers are given relative to the staging tmpfs (the cwd), so that their
    # options, shown in mountinfo, name nothing of the host.
    os.chdir(staging)
    os.mkdir(_EMPTY_LAYER)
    for source, name, read_only in binds:
        os.mkdir(name)
        mounts.mount(source, name, None, mounts.MS_BIND)
        if read_only:
            # Without overlayfs the plain bind stays (read-only in bwrap; its path shows).
            with contextlib.suppress(OSError):
                mounts.mount("c2d-ro", name, "overlay", mounts.MS_RDONLY, _overlay(name))
    os.chdir("/")


def _overlay(name: str) -> str:
    return f"lowerdir={name}:{_EMPTY_LAYER}"


def _filter_on(target: int) -> None:
    fd = filter_fd()
    if fd != target:
        os.dup2(fd, target)  # inheritable: bwrap reads it after one more exec
        os.close(fd)
    else:
        os.set_inheritable(fd, True)


if __name__ == "__main__":
    raise SystemExit(main())
