"""The file system: nothing outside /data/outputs is writable, and outputs.tar carries nothing from
outside it — whatever links, devices and names the algorithm leaves there."""

from __future__ import annotations

import tarfile

from devkit.client import C2DClient
from tests.attacks.conftest import outputs, report, run
from workflows.status import JobStatus

TRAPS = r"""
import json, os
out = {}
o = os.environ["OUTPUTS"]
def attempt(name, action):
    try:
        action()
        out[name] = "done"
    except OSError as error:
        out[name] = "failed: " + type(error).__name__
attempt("symlink to passwd", lambda: os.symlink("/etc/ld.so.cache", o + "/cache"))
attempt("symlink to inputs", lambda: os.symlink("../inputs", o + "/inputs-link"))
attempt("symlink dir", lambda: os.symlink("/usr/bin", o + "/bin"))
open(o + "/plain.txt", "w").write("plain")
open(o + "/kept.txt", "w").write("kept")
attempt("hard link inside", lambda: os.link(o + "/plain.txt", o + "/hard.txt"))
attempt("hard link to input", lambda: os.link("/data/transformations/algorithm", o + "/algo"))
attempt("fifo", lambda: os.mkfifo(o + "/fifo"))
attempt("char device", lambda: os.mknod(o + "/null", 0o20666, os.makedev(1, 3)))
attempt("socket", lambda: __import__("socket").socket(1).bind(o + "/sock"))
for name in ["new\nline", "..\\..\\evil", "a" * 255, "tab\there", "\x7f"]:
    attempt("name " + repr(name)[:20], lambda: open(os.path.join(o, name), "w").write("x"))
attempt("bytes name", lambda: open(os.path.join(o.encode(), b"\xff\xfe"), "w").write("x"))
deep = o
for i in range(80):
    deep = os.path.join(deep, "d")
attempt("deep", lambda: (os.makedirs(deep), open(deep + "/bottom", "w").write("x")))
for path in ["/data/inputs/x", "/data/ddos/x", "/data/transformations/x", "/data/x", "/x",
             "/etc/x", "/usr/x", "/opt/c2d/bin/x", "/proc/sys/kernel/hostname"]:
    attempt("write " + path, lambda: open(path, "w").write("x"))
attempt("write sysrq", lambda: open("/proc/sysrq-trigger", "w").write("h"))
out["euid"] = os.geteuid()
open(o + "/report.json", "w").write(json.dumps(out))
"""


def test_only_plain_files_from_outputs_come_back(attacker: C2DClient) -> None:
    job = run(attacker, TRAPS)
    assert job["status"] == JobStatus.FINISHED, job
    found = report(attacker, job)
    assert found["euid"] == 1000
    for name, outcome in found.items():
        if name.startswith("write "):
            assert outcome.startswith("failed"), (name, outcome)
    # No device nodes without CAP_MKNOD; the outputs are a separate file system (no hard link in).
    assert found["char device"].startswith("failed"), found
    assert found["hard link to input"].startswith("failed"), found
    with outputs(attacker, job) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        for member in members:
            assert member.type in (tarfile.REGTYPE, tarfile.DIRTYPE), (member.name, member.type)
            assert not member.name.startswith("/") and ".." not in member.name.split("/")
            assert "\\" not in member.name and "\n" not in member.name and "\t" not in member.name
            assert member.uid == 0 and member.gid == 0
        contents = b"".join(
            handle.read()
            for m in members
            if m.isfile() and (handle := tar.extractfile(m)) is not None
        )
    assert "kept.txt" in names and "report.json" in names
    for absent in ("cache", "inputs-link", "bin", "hard.txt", "fifo", "null", "sock", "algo"):
        assert absent not in names, names
    # Nothing from outside the outputs folder (e.g. the runtime's ld.so.cache) is inside.
    assert b"ld.so-1.7.0" not in contents and b"glibc-ld.so.cache" not in contents
    # The plain file that got a second (hard) link is refused too: it may alias anything.
    assert found["hard link inside"] == "done"
    assert "plain.txt" not in names
