"""``c2d logs JOB``: a job's algorithm log (live while it runs with ``--follow``).

The log is the algorithm's file: it is read the way the provider serves it (``follow_log``:
opened without links or special files, capped at the job's log limit).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from provider.commands._local import LocalState
    from workflows.engines.local.follow import JobEvents

from provider.commands.consumer.connection import add_connection_arguments

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "logs"
HELP = "print a job's algorithm log (--follow: until the algorithm ends)"
# Without inotify on the job store, how often a follower looks at the job's state again.
_POLL_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="job id (or a unique prefix of at least 4 characters)")
    add_connection_arguments(parser, required=False)
    parser.add_argument("-f", "--follow", action="store_true", help="wait for more output")
    parser.add_argument("--admin", action="store_true", help="the configure and publish logs")


def run(args: argparse.Namespace) -> int:
    if args.provider:
        from provider.commands.consumer.remote import run_logs

        return run_logs(args)
    from provider.commands._local import LocalState
    from workflows.jobfiles import JobFilePath, RefusedJobFile, read_job_file, refused_note

    state = LocalState()
    out = sys.stdout.buffer
    try:
        record = state.job(args.job)
        job_id = record.spec.job_id
        if args.admin:
            for name in ("configuration.log", "publish.log"):
                source = JobFilePath(state.settings.results_dir, f"{job_id}/{name}")
                try:
                    out.write(read_job_file(source, record.spec.limits.log_bytes))
                except FileNotFoundError:
                    continue
                except RefusedJobFile as refused:
                    out.write(refused_note(refused))
            out.flush()
            return 0
        cap = record.spec.limits.log_bytes
        asyncio.run(_print_log(state, job_id, cap, args.follow, out))
    finally:
        state.close()
    return 0


async def _print_log(state: LocalState, job_id: str, cap: int, follow: bool, out: BinaryIO) -> None:
    from provider.commands._local import Progress
    from workflows.engines.local.dispatcher import log_sources
    from workflows.engines.local.follow import JobEvents, follow_log
    from workflows.engines.local.inotify import shared_inotify

    settings = state.settings
    live, stored = log_sources(settings.jobs_dir, settings.results_dir, job_id)
    events = JobEvents()
    bar = Progress()
    waiting = False

    def progress() -> str:
        nonlocal waiting
        record = state.job(job_id)
        if follow and record.status < 40 and record.date_finished is None:
            # Nothing to show yet: say what the job waits for.
            bar.job(record)
            waiting = True
        elif waiting:
            bar.done()
            waiting = False
        if record.date_finished is not None:
            return "finished"
        return "ended" if "algorithm" in record.outcomes else "running"

    # The provider's writes to the job store wake the reader; a timer covers a store whose
    # write-ahead log is not there to watch.
    unwatch = shared_inotify().watch(str(state.wal_path), lambda: events.publish(job_id))
    ticker = asyncio.create_task(_tick(events, job_id)) if follow else None
    try:
        async for chunk in follow_log(
            job_id, live, stored, progress, events, cap=cap, follow=follow
        ):
            out.write(chunk)
            out.flush()
    finally:
        if ticker is not None:
            ticker.cancel()
        if unwatch is not None:
            unwatch()
        if waiting:
            bar.done()


async def _tick(events: JobEvents, job_id: str) -> None:
    while True:
        await asyncio.sleep(_POLL_SECONDS)
        events.publish(job_id)
