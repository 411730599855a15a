"""Secrets from inside the sandbox: the provider's key, state, config and processes are out of
sight."""

from __future__ import annotations

from pathlib import Path

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.attacks.conftest import outputs, report, run
from workflows.status import JobStatus

PROVIDER_KEY_HEX = "5a" * 32

PROBE = r"""
import json, os
out = {"read": {}, "proc": {}}
for path in PATHS:
    try:
        with open(path, "rb") as handle:
            out["read"][path] = "read %d bytes" % len(handle.read())
    except OSError as error:
        out["read"][path] = "denied: " + type(error).__name__
leaked = b""
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for name in ("environ", "cmdline"):
        try:
            leaked += open("/proc/%s/%s" % (pid, name), "rb").read()
        except OSError:
            pass
    try:
        out["proc"][pid] = sorted(os.listdir("/proc/%s/root/" % pid))[:50]
    except OSError as error:
        out["proc"][pid] = "denied: " + type(error).__name__
for pid in ("1", "2"):
    try:
        leaked += open("/proc/%s/environ" % pid, "rb").read()
    except OSError:
        pass
found = []
for top in ("/", "/tmp", "/data", "/etc", "/opt"):
    for root, dirs, files in os.walk(top):
        if root.startswith(("/proc", "/sys", "/usr", "/dev")):
            dirs[:] = []
            continue
        found.extend(os.path.join(root, f) for f in files)
for path in found:
    if path.startswith("/data/transformations/"):
        continue  # the probe itself, which names the paths it tries
    try:
        leaked += open(path, "rb").read(1 << 20)
    except OSError:
        pass
out["files"] = sorted(set(found))
# Given reversed: the probe's own source, under /data, must not count as a leak.
out["leaked_key"] = KEY[::-1].encode() in leaked.lower()
out["leaked_home"] = HOME[::-1].encode() in leaked
out["mounts"] = open("/proc/self/mountinfo").read()
open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w").write(json.dumps(out))
print(json.dumps(out["read"]))
"""


def test_key_state_config_and_other_processes_are_unreadable(
    attacker: C2DClient, provider: ServerProcess, attack_home: Path
) -> None:
    home = attack_home.resolve()
    secrets = [
        home / "provider.key",
        home / "state" / "jobs.sqlite",
        home / "state" / "provider.sqlite",
        home / "state" / "jobs.sqlite-wal",
        home / "serve.log",
        Path("/etc/shadow"),
        Path("/root/.bash_history"),
        Path("/proc/kcore"),
        Path("/sys/kernel/security"),
    ]
    code = (
        PROBE.replace("PATHS", repr([str(p) for p in secrets]))
        .replace("KEY", repr(PROVIDER_KEY_HEX[::-1]))
        .replace("HOME", repr(str(home)[::-1]))
    )
    job = run(attacker, code)
    assert job["status"] == JobStatus.FINISHED, job
    found = report(attacker, job)
    for path, outcome in found["read"].items():
        assert outcome.startswith("denied"), (path, outcome)
    assert found["leaked_key"] is False
    assert found["leaked_home"] is False
    # /proc shows the sandbox's own few processes, and their root is the sandbox's.
    assert len(found["proc"]) <= 4, found["proc"]
    for pid, listing in found["proc"].items():
        assert "root" not in listing and "work" not in listing, (pid, listing)
    # The mount table names no host path of the job's folders: the read-only ones are overlays
    # staged under relative names, the writable ones the job's own file system (sandbox.py).
    assert str(home) not in found["mounts"], found["mounts"]
    assert job["jobId"] not in found["mounts"], found["mounts"]
    mounted = [line.split(" ")[3] for line in found["mounts"].splitlines()]
    assert not any(m.startswith(("/work", "/root", "/tmp", "/home")) for m in mounted), mounted
    for target in ("/data/inputs", "/data/ddos", "/data/transformations"):
        line = next(m for m in found["mounts"].splitlines() if f" {target} " in m)
        assert line.split(" ")[3] == "/" and " overlay " in line, line
    # /data/outputs and /data/logs are on the job's own size-limited file system.
    writable = [line for line in found["mounts"].splitlines() if " /data/outputs " in line]
    assert writable and "/dev/loop" in writable[0], found["mounts"]
    # Every file the algorithm can see is its own job's, the runtime's or a kernel one.
    allowed = ("/data/", "/etc/ld.so.cache", "/etc/localtime", "/opt/c2d/bin/")
    assert all(f.startswith(allowed) for f in found["files"]), found["files"]
    with outputs(attacker, job) as tar:
        assert [m.name for m in tar.getmembers()] == ["report.json"]
