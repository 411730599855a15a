"""``c2d logs JOB``: a job's algorithm log (live while it runs with ``--follow``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "logs"
HELP = "print a job's algorithm log (--follow: until the algorithm ends)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="job id (or a unique prefix of at least 4 characters)")
    parser.add_argument("-f", "--follow", action="store_true", help="wait for more output")
    parser.add_argument("--admin", action="store_true", help="the configure and publish logs")


def run(args: argparse.Namespace) -> int:
    from provider.commands._local import LocalState, Progress, wait_for_change

    state = LocalState()
    out = sys.stdout.buffer
    try:
        record = state.job(args.job)
        job_id = record.spec.job_id
        if args.admin:
            for name in ("configuration.log", "publish.log"):
                path = state.result_dir(job_id) / name
                if path.exists():
                    out.write(path.read_bytes())
            out.flush()
            return 0
        offset = 0
        progress = Progress()
        waiting = False
        while True:
            finished = record.date_finished is not None
            ended = finished or "algorithm" in record.outcomes
            live = state.live_log(job_id)
            path = state.result_dir(job_id) / "algorithm.log" if finished else live
            chunk = _read_from(path, offset)
            if chunk:
                offset += len(chunk)
                out.write(chunk)
                out.flush()
            if not args.follow or finished or (ended and not chunk):
                break
            if record.status < 40:
                # Nothing to show yet: say what the job waits for.
                progress.job(record)
                waiting = True
            elif waiting:
                progress.done()
                waiting = False
            wait_for_change(state, live, timeout=1.0)
            record = state.job(job_id)
        if waiting:
            progress.done()
    finally:
        state.close()
    return 0


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return b""
