"""Descriptors: no process in the sandbox (bwrap's pid 1 and the entrypoint shell included)
holds anything of the host, and none can be taken from another process with pidfd_getfd."""

from __future__ import annotations

import re
from typing import Any

from devkit.client import C2DClient
from tests.attacks.conftest import algorithm_log, report, run
from workflows.status import JobStatus

# Walks /proc of its pid namespace: every fd of every process, with its fdinfo; for a path, also
# whether the path seen in the sandbox is that very file (same inode).
AUDIT = r"""
import json, os
fds = []
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid == os.getpid():
        continue  # the audit's own listing descriptors come and go; its inherited ones below
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError as error:
        fds.append({"pid": pid, "error": error.strerror})
        continue
    comm = open("/proc/%d/comm" % pid).read().strip()
    for name in names:
        entry = {"pid": pid, "comm": comm, "fd": int(name)}
        try:
            entry["target"] = os.readlink("/proc/%d/fd/%s" % (pid, name))
            info = open("/proc/%d/fdinfo/%s" % (pid, name)).read()
        except OSError as error:
            entry["error"] = error.strerror
            fds.append(entry)
            continue
        entry["ino"] = int(dict(l.split(":", 1) for l in info.splitlines() if ":" in l)["ino"])
        if entry["target"].startswith("/"):
            try:
                entry["same_file"] = os.stat(entry["target"]).st_ino == entry["ino"]
            except OSError:
                entry["same_file"] = False
        fds.append(entry)
mine = []
for name in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink("/proc/self/fd/" + name)
        same = target.startswith("/") and os.stat(target).st_ino == os.fstat(int(name)).st_ino
        mine.append({"fd": int(name), "target": target, "same_file": same})
    except OSError:
        pass  # the listing's own descriptor, closed already
json.dump({"fds": fds, "own": mine}, open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w"))
"""

_DEVICES = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
_KERNEL_OBJECTS = re.compile(r"^(pipe|socket):\[\d+\]$|^anon_inode:\[?(eventfd|pidfd|inotify)\]?$")


def _foreign(entry: dict[str, Any]) -> bool:
    """Anything but the job's own /data files, kernel pipes/sockets/eventfds and null devices."""
    target = str(entry.get("target", ""))
    if "error" in entry or _KERNEL_OBJECTS.match(target) or target in _DEVICES:
        return False
    own_data = target.startswith("/data/") or target.startswith("/proc/")
    return not (own_data and entry.get("same_file"))


def test_no_process_in_the_sandbox_holds_a_host_descriptor(attacker: C2DClient) -> None:
    job = run(attacker, AUDIT)
    assert job["status"] == JobStatus.FINISHED, algorithm_log(attacker, job)[-2000:]
    found = report(attacker, job)
    audited = [entry for entry in found["fds"] if "target" in entry]
    # The walk saw bwrap's pid 1 and the shell (listing their fds is allowed: same user).
    assert {entry["pid"] for entry in audited} >= {1, 2}, found
    foreign = [entry for entry in found["fds"] + found["own"] if _foreign(entry)]
    assert not foreign, foreign
    # The algorithm's own stdout and stderr: its log on /data/logs, nothing of the host.
    own = {entry["fd"]: entry["target"] for entry in found["own"]}
    assert own[1] == own[2] == "/data/logs/algorithm.log", own
    # pid 1's stderr belongs to this job alone: the next job's is another one.
    again = report(attacker, run(attacker, AUDIT))
    assert _stderr_of_pid_1(found) != _stderr_of_pid_1(again), (found, again)


def _stderr_of_pid_1(found: dict[str, Any]) -> str:
    return next(str(e["target"]) for e in found["fds"] if e["pid"] == 1 and e.get("fd") == 2)


PIDFD_GETFD = r"""
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
out = {}
pidfd = libc.syscall(434, 1, 0)  # pidfd_open(1, 0): bwrap's pid 1
out["pidfd_open"] = "allowed" if pidfd >= 0 else errno.errorcode[ctypes.get_errno()]
for fd in (0, 1, 2):
    ctypes.set_errno(0)
    got = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
    out["getfd %d" % fd] = "allowed" if got >= 0 else errno.errorcode[ctypes.get_errno()]
    if got >= 0:
        out["target %d" % fd] = os.readlink("/proc/self/fd/%d" % got)
json.dump(out, open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w"))
"""


def test_pidfd_getfd_on_pid_1_is_refused(attacker: C2DClient) -> None:
    job = run(attacker, PIDFD_GETFD)
    assert job["status"] == JobStatus.FINISHED, algorithm_log(attacker, job)[-2000:]
    found = report(attacker, job)
    assert found["pidfd_open"] == "allowed", found
    for fd in (0, 1, 2):
        assert found[f"getfd {fd}"] == "EPERM", found
