"""Runs inside the user-mode-linux VM (as its init's child, root, cgroup v2 only): sets up the
provider's cgroup as the scenario wants it, runs the project's own checks with pytest, and
leaves what it saw in the output folder the host reads (see tests/vm/uml.py).

Scenarios: ``root`` — c2d serve is a plain root process at the hierarchy's root; ``delegated``
— everything runs in ``/system.slice/c2d.service`` with the controllers delegated to it, as
systemd gives a unit with ``Delegate=yes``.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
SERVICE = CGROUP / "system.slice" / "c2d.service"
CONTROLLERS = "+memory +pids +cpu +io"
_FINIT_MODULE = 313  # x86_64 syscall number (user-mode-linux keeps the host's ABI)
_REPO = Path(__file__).resolve().parents[2]

# The provider's checks that mean something on cgroup v2 (tests/vm/test_cgroup_v2.py names
# the ones each scenario must pass).
LIMITS = ["tests/e2e/test_limits.py", "tests/e2e/cgroup_v2_checks.py"]
ATTACKS = [
    "tests/attacks/test_secrets.py",
    "tests/attacks/test_privilege.py",
    "tests/attacks/test_filesystem.py",
    "tests/attacks/test_exhaustion.py",
]
# The privilege split: the process serving HTTP is not root, the helper's socket holds.
SPLIT = ["tests/attacks/test_helper_socket.py"]
SCENARIOS = {"root": LIMITS + ATTACKS + SPLIT, "delegated": LIMITS + SPLIT}
# Its job has a 2 s deadline, less than a Python start takes in the VM; cgroup_v2_checks.py
# stops a job with detached children instead.
DESELECT = "not detached_child"
# One environment sized for the VM (1 CPU, 1.5 GiB): half a CPU per job so that cpu.max shows.
# Disk has no minimum: the tests ask for a few MiB, which a minimum would raise (as Ocean Node
# raises a request to its minimum); a free job may take the whole 1 GiB of RAM the tmpfs test asks.
CONFIG = """
environments:
  - id: free
    maxJobDuration: 600
    resources:
      - {id: cpu, total: 1, max: 1, min: 0.5}
      - {id: ram, total: 1, max: 1, min: 0.25}
      - {id: disk, total: 1, max: 1, min: 0}
    free:
      maxJobDuration: 600
      maxJobs: 4
      resources:
        - {id: cpu, max: 1}
        - {id: ram, max: 1}
        - {id: disk, max: 0.5}
    runtimes:
      - images: ["python:3.11", "python:3.11-slim"]
        binds: [/usr]
        commands: {python: /usr/bin/python3}
"""


def main(scenario: str, out: Path) -> int:
    facts: dict[str, object] = {
        "scenario": scenario,
        # Loop devices give each job its ext4 disk quota; overlayfs hides the host paths of
        # its read-only folders. Without them the sandbox falls back (and the checks say so).
        "loop": _load_module("drivers/block/loop.ko", _has_loop),
        "overlay": _load_module("fs/overlayfs/overlay.ko", _has_overlay),
    }
    if scenario == "delegated":
        facts["refusal"] = _serve_without_cpu_controller()
        _delegate_like_systemd()
    facts["own_group_before"] = _own_group()
    config = Path("/tmp/environments.yaml")
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "C2D_CONFIG": str(config),
        "C2D_SERVE_READY_TIMEOUT": "240",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA"]
    command += ["--basetemp=/tmp/pytest", f"--junitxml={out / 'junit.xml'}", "-k", DESELECT]
    started = time.monotonic()
    with (out / "pytest.txt").open("w") as log:
        try:
            code = subprocess.run(
                command + SCENARIOS[scenario],
                cwd=_REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=1500,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    facts["pytest_exit"] = code
    facts["pytest_seconds"] = round(time.monotonic() - started, 1)
    facts["own_group_after"] = _own_group()
    facts["groups_left"] = sorted(
        str(path.relative_to(CGROUP)) for path in CGROUP.rglob("job-*") if path.is_dir()
    )
    (out / "facts.json").write_text(json.dumps(facts, indent=1))
    return 0


def _load_module(relative: str, loaded: Callable[[], bool]) -> str:
    """Load one of the kernel's modules (the host image has no kmod: by syscall)."""
    if loaded():
        return "built in"
    module = Path(f"/usr/lib/uml/modules/{os.uname().release}/kernel/{relative}")
    if not module.exists():
        return f"missing: no {module}"
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(module, os.O_RDONLY)
    try:
        if libc.syscall(_FINIT_MODULE, fd, b"", 0) != 0:
            return f"missing: finit_module {module.name}: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(fd)
    for _ in range(100):
        if loaded():
            return "module"
        time.sleep(0.05)
    return f"missing: {module.name} loaded but not seen"


def _has_loop() -> bool:
    return Path("/dev/loop-control").exists()


def _has_overlay() -> bool:
    return "overlay" in Path("/proc/filesystems").read_text().split()


def _delegate_like_systemd() -> None:
    """The unit's group with every controller enabled down to it; this process inside it."""
    SERVICE.mkdir(parents=True)
    (CGROUP / "cgroup.subtree_control").write_text(CONTROLLERS)
    (SERVICE.parent / "cgroup.subtree_control").write_text(CONTROLLERS)
    (SERVICE / "cgroup.procs").write_text(str(os.getpid()))


def _serve_without_cpu_controller() -> dict[str, object]:
    """``c2d serve`` in a unit whose slice delegates memory and pids but not cpu: it must refuse
    to start (exit 2, one line naming what is missing) and create no group."""
    unit = CGROUP / "weak.slice" / "weak.service"
    unit.mkdir(parents=True)
    (CGROUP / "cgroup.subtree_control").write_text(CONTROLLERS)
    (unit.parent / "cgroup.subtree_control").write_text("+memory +pids")
    serve = f"{sys.executable} -m provider.cli serve --host 127.0.0.1 --port 8999"
    done = subprocess.run(
        ["/bin/sh", "-c", f"echo $$ > {unit}/cgroup.procs && exec {serve}"],
        cwd=_REPO,
        env={**os.environ, "C2D_HOME": "/tmp/weak-home", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    children = sorted(path.name for path in unit.iterdir() if path.is_dir())
    return {"exit": done.returncode, "stderr": done.stderr, "groups": children}


def _own_group() -> str:
    return Path("/proc/self/cgroup").read_text().strip()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], Path(sys.argv[2])))
