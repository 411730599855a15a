"""Privilege: no capabilities, no setuid, no ptrace, no mounts, no new namespaces; the seccomp
filter refuses what the kernel might otherwise allow an unprivileged user."""

from __future__ import annotations

from pathlib import Path

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.attacks.conftest import report, run
from workflows.status import JobStatus

PROBE = r"""
import ctypes, errno, json, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
out = {"calls": {}}
def call(name, number, *args):
    ctypes.set_errno(0)
    result = libc.syscall(number, *[ctypes.c_long(a) for a in args])
    out["calls"][name] = "allowed" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
# x86-64 system call numbers.
call("unshare user", 272, 0x10000000)
call("unshare net", 272, 0x40000000)
call("unshare mount", 272, 0x00020000)
call("setns", 308, 0, 0)
call("mount", 165, 0, 0, 0, 0, 0)
call("keyctl", 250, 0, 0, 0, 0)
call("bpf", 321, 0, 0, 0)
call("perf_event_open", 298, 0, 0, -1, -1, 0)
call("userfaultfd", 323, 0)
call("chroot", 161, 0)
call("init_module", 175, 0, 0, 0)
call("io_uring_setup", 425, 1, 0)
pidfd = libc.syscall(434, os.getppid(), 0)  # pidfd_open of the entrypoint shell
call("pidfd_getfd", 438, pidfd, 2, 0)
call("process_vm_readv", 310, os.getppid(), 0, 0, 0, 0, 0)
call("process_vm_writev", 311, os.getppid(), 0, 0, 0, 0, 0)
call("process_madvise", 440, pidfd, 0, 0, 0, 0)
call("move_pages", 279, os.getppid(), 0, 0, 0, 0, 0)
call("migrate_pages", 256, os.getppid(), 0, 0, 0)
call("kcmp", 312, os.getpid(), os.getppid(), 0, 0, 0)
call("modify_ldt", 154, 0, 0, 0)
call("memfd_secret", 447, 0)
call("settimeofday", 164, 0, 0)
call("clock_settime", 227, 0, 0)
call("clock_adjtime", 305, 0, 0)
call("adjtimex", 159, 0)
call("sethostname", 170, 0, 0)
call("setdomainname", 171, 0, 0)
call("vhangup", 153)
call("fanotify_init", 300, 0, 0)
call("quotactl_fd", 443, 0, 0, 0, 0)
call("uselib", 134, 0)
call("ustat", 136, 0, 0)
call("sysfs", 139, 3)
call("personality ADDR_NO_RANDOMIZE", 135, 0x0040000)
call("personality READ_IMPLIES_EXEC", 135, 0x0400000)
call("personality PER_LINUX", 135, 0)
child = os.fork()
if child == 0:
    import time
    time.sleep(30)
    os._exit(0)
call("ptrace attach", 101, 16, child, 0, 0)  # PTRACE_ATTACH
os.kill(child, 9)
os.waitpid(child, 0)
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\t" in line)
for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Groups"):
    out[name] = status[name].strip()
out["NoNewPrivs"] = status["NoNewPrivs"].strip()
out["Seccomp"] = status["Seccomp"].strip()
setuid = []
for folder in ("/usr/bin", "/usr/sbin"):
    for name in os.listdir(folder):
        try:
            if os.stat(os.path.join(folder, name)).st_mode & 0o4000:
                setuid.append(os.path.join(folder, name))
        except OSError:
            pass
out["setuid_binaries"] = setuid
runs = {}
for argv in (["su", "-c", "id -u"], ["mount", "-t", "tmpfs", "x", "/tmp"], ["newgrp", "root"],
             ["unshare", "-U", "-r", "id", "-u"], ["passwd", "-d", "root"]):
    path = "/usr/bin/" + argv[0]
    if not os.path.exists(path):
        continue
    done = subprocess.run([path, *argv[1:]], capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)
    runs[" ".join(argv)] = [done.returncode, done.stdout.strip()]
out["runs"] = runs
out["euid"] = os.geteuid()
open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w").write(json.dumps(out))
"""


def test_no_privilege_can_be_gained(attacker: C2DClient, provider: ServerProcess) -> None:
    job = run(attacker, PROBE)
    assert job["status"] == JobStatus.FINISHED, job
    found = report(attacker, job)
    calls = found["calls"]
    # The plain Linux personality (what a program may set back) stays allowed; every other
    # probed call is refused, by the seccomp filter or for want of privilege.
    assert calls.pop("personality PER_LINUX") == "allowed", calls
    assert len(calls) == 36, sorted(calls)
    assert {name: why for name, why in calls.items() if why != "EPERM"} == {}, calls
    # Every capability set is empty, the bounding one included (nothing to regain through a
    # file capability), and no supplementary group is left from root.
    for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert found[name] == "0000000000000000", (name, found)
    assert found["Groups"] == "", found
    assert found["NoNewPrivs"] == "1", found
    # 2: a filter is loaded (bubblewrap's --seccomp).
    assert found["Seccomp"] == "2", found
    assert found["euid"] == 1000
    # setuid binaries exist in the runtime's /usr but give nothing (nosuid, no_new_privs).
    for command, (code, stdout) in found["runs"].items():
        assert code != 0 or stdout not in ("0", ""), (command, code, stdout)
        assert stdout != "0", (command, stdout)
    # The provider reported the active mechanisms when it started.
    log = provider.log_path.read_text()
    backend = "cgroup v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "cgroup v1"
    assert "seccomp filter" in log and backend in log and "ext4 loop image" in log, log[-2000:]
