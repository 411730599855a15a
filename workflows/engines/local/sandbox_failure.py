"""Why a sandbox did not start: the last line its own tools (stage, bwrap) wrote.

The stage layer's stderr (and so bwrap's) goes to a file in the job's folder; the algorithm's
own output goes to its log, not there. The file is read only for a job's reason, from its end,
capped, never through a link or from anything but a regular file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["SANDBOX_STDERR", "sandbox_failure"]

SANDBOX_STDERR = "sandbox.stderr"
_CAP = 8192
_REASON_CHARS = 300
# What the sandbox's tools prefix their own errors with (stage.py raises SystemExit("stage: …")).
_TOOLS = ("bwrap: ", "stage: ")


def sandbox_failure(job_dir: Path) -> str:
    """The last error line of the sandbox's tools in ``job_dir``, or "" when there is none."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(job_dir / SANDBOX_STDERR, flags)
    except OSError:
        return ""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return ""
        tail = os.pread(fd, _CAP, max(0, info.st_size - _CAP))
    finally:
        os.close(fd)
    lines = [line for line in tail.decode(errors="replace").splitlines() if line.startswith(_TOOLS)]
    return lines[-1].strip()[:_REASON_CHARS] if lines else ""
