"""A stand-in step for the step server tests: does what its first argument says."""

from __future__ import annotations

import json
import os
import sys
import time


def _open_fds() -> list[int]:
    found = []
    for fd in range(1024):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


def main() -> int:
    what = sys.argv[1]
    if what == "report":
        report = {
            "env": dict(os.environ),
            "fds": _open_fds(),
            "pid": os.getpid(),
            "pgid": os.getpgid(0),
            "cwd": os.getcwd(),
        }
        print(json.dumps(report), flush=True)
    elif what == "exit":
        return int(sys.argv[2])
    elif what == "raise":
        raise RuntimeError("the probe fails")
    elif what == "sleep":
        print(os.getpid(), flush=True)
        time.sleep(600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
