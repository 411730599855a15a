"""The stage layer's drop from root: the algorithm's ids, no group, and every capability set
empty, read back from /proc as the kernel keeps them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workflows.engines.local import privileges
from workflows.engines.local.privileges import CAPABILITY_SETS, PrivilegesKept, status_fields

# As root, first hold what a careless parent could pass on: supplementary groups, an
# inheritable and an ambient capability (CAP_NET_RAW, 13). Then drop, and report the status.
_CHILD = """
import ctypes, json, os, sys
from workflows.engines.local import privileges
libc = ctypes.CDLL(None, use_errno=True)
os.setgroups([0, 4, 27])
header = privileges._CapHeader(privileges._LINUX_CAPABILITY_VERSION_3, 0)
sets = (privileges._CapData * 2)()
assert libc.capget(ctypes.byref(header), sets) == 0
sets[0].inheritable |= 1 << 13
assert libc.capset(ctypes.byref(header), sets) == 0, ctypes.get_errno()
assert libc.prctl(47, 2, 13, 0, 0) == 0, ctypes.get_errno()  # PR_CAP_AMBIENT_RAISE
before = open("/proc/self/status").read()
privileges.drop_to(int(sys.argv[1]), int(sys.argv[2]))
after = open("/proc/self/status").read()
print(json.dumps([before, after]))
"""


@pytest.mark.root
def test_a_dropped_process_keeps_no_id_group_or_capability() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, "1000", "1001"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    before, after = (status_fields(text) for text in json.loads(done.stdout))
    # What it held, so that each emptied set below was emptied by the drop.
    assert before["Groups"].split() == ["0", "4", "27"]
    assert int(before["CapInh"], 16) == int(before["CapAmb"], 16) == 1 << 13
    assert int(before["CapBnd"], 16) != 0
    assert after["Uid"].split() == ["1000"] * 4
    assert after["Gid"].split() == ["1001"] * 4
    assert after["Groups"].split() == []
    assert {name: int(after[name], 16) for name in CAPABILITY_SETS} == dict.fromkeys(
        CAPABILITY_SETS, 0
    )


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("CapInh:\t0000000000002000", "CapInh"),
        ("CapBnd:\t000001ffffffffff", "CapBnd"),
        ("Groups:\t4 ", "groups"),
        ("Uid:\t1000\t0\t1000\t1000", "uid"),
    ],
)
def test_a_set_the_kernel_kept_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, kept: str
) -> None:
    lines = {name: f"{name}:\t0000000000000000" for name in CAPABILITY_SETS}
    lines |= {"Uid": "Uid:\t1000\t1000\t1000\t1000", "Gid": "Gid:\t1000\t1000\t1000\t1000"}
    lines["Groups"] = "Groups:\t"
    lines[line.split(":")[0]] = line
    status = tmp_path / "status"
    status.write_text("\n".join(lines.values()) + "\n")
    monkeypatch.setattr(privileges, "_STATUS", str(status))
    with pytest.raises(PrivilegesKept, match=kept):
        privileges._check(1000, 1000)
