"""CPU per job by part, read from /proc of a real process tree."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.cpu import cpu_per_job, snapshot

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
