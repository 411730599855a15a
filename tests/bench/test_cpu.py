"""CPU per job by part, read from /proc of a real process tree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cpu import CpuSnapshot, cpu_per_job, machine_busy_seconds, snapshot

# A stand-in for a step server: its command line names the zygote; it burns CPU when told to.
_ZYGOTE = (
    "import sys, time  # workflows.engines.local._zygote\n"
    "sys.stdin.readline()\n"
    "end = time.process_time() + 0.3\n"
    "while time.process_time() < end: pass\n"
    "sys.stdin.readline()\n"
)
# A stand-in for ``c2d serve``: starts the zygote and waits.
_ROOT = (
    "import subprocess, sys\n"
    f"child = subprocess.Popen([sys.executable, '-c', {_ZYGOTE!r}], stdin=sys.stdin)\n"
    "child.wait()\n"
)


def test_cpu_is_counted_per_part_and_per_job() -> None:
    root = subprocess.Popen([sys.executable, "-c", _ROOT], stdin=subprocess.PIPE, text=True)
    assert root.stdin is not None
    try:
        time.sleep(0.5)  # both started
        before = snapshot(root.pid)
        root.stdin.write("go\n")
        root.stdin.flush()
        time.sleep(0.8)  # the zygote's burn has ended
        after = snapshot(root.pid)
        per_job = cpu_per_job(before, after, jobs=2, client_seconds=0.2)
    finally:
        root.stdin.write("done\n")
        root.stdin.close()
        root.wait(10)
    assert 0.25 * 1000 / 2 <= per_job["steps"] <= 0.6 * 1000 / 2, per_job
    assert per_job["api"] < 50, per_job
    assert per_job["client"] == 100, per_job


def test_the_machine_counts_what_no_part_reaped(tmp_path: Path) -> None:
    """``rest``: the machine's busy time beyond the parts and the client (what runs inside
    bwrap is reaped by no part)."""
    before = CpuSnapshot({"api": 1.0, "steps": 2.0})
    after = CpuSnapshot({"api": 1.5, "steps": 3.0})
    per_job = cpu_per_job(before, after, jobs=10, client_seconds=0.5, machine_seconds=4.0)
    assert per_job == {
        "api": 50.0,
        "steps": 100.0,
        "client": 50.0,
        "machine": 400.0,
        "rest": 200.0,
    }
    # Without the machine's figure: the parts and the client only, as before.
    assert set(cpu_per_job(before, after, jobs=10, client_seconds=0.5)) == {
        "api",
        "steps",
        "client",
    }


def test_machine_busy_time_is_read_from_proc_stat(tmp_path: Path) -> None:
    tick = os.sysconf("SC_CLK_TCK")
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text(
        f"cpu  {3 * tick} {tick} {2 * tick} 9999 77 {tick} {tick} 55 3 0\n"
        "cpu0 1 2 3 4 5 6 7 8 9 0\n"
    )
    assert machine_busy_seconds(stat) == 8.0  # idle, iowait, steal and guest left out
    stat.write_text("intr 1 2 3\n")
    with pytest.raises(ValueError, match="no cpu line"):
        machine_busy_seconds(stat)


def test_the_machine_busy_time_sees_a_process_burn_cpu() -> None:
    """The real /proc/stat: a child burning 0.3 s of CPU moves the machine's figure at least
    that much (other work on the machine can only add to it)."""
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    before = machine_busy_seconds()
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert machine_busy_seconds() - before >= 0.28
