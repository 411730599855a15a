"""``c2d results JOB``: wait for a job (with progress), list its result files, copy them out."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provider.commands._local import Progress
    from workflows.engines.base import StoredResult

from provider.commands.consumer.connection import add_connection_arguments

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "results"
HELP = "wait for a job to finish, list its result files (--output DIR: copy them there)"
_CHUNK = 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="job id (or a unique prefix of at least 4 characters)")
    add_connection_arguments(parser, required=False)
    parser.add_argument("-o", "--output", type=Path, help="copy the result files to this folder")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the job to end")


def run(args: argparse.Namespace) -> int:
    if args.provider:
        from provider.commands.consumer.remote import run_results

        return run_results(args)
    from provider.commands._local import LocalState, Progress, wait_for_change
    from workflows.engines.base import StoredResult
    from workflows.manifest import read_manifest
    from workflows.status import status_text

    state = LocalState()
    progress = Progress()
    try:
        record = state.job(args.job)
        job_id = record.spec.job_id
        if record.date_finished is None and not args.no_wait:
            while record.date_finished is None:
                progress.job(record)
                wait_for_change(state)
                record = state.job(job_id)
            progress.job(record)
            progress.done()
        print(f"job {job_id}: {int(record.status)} {status_text(record.status)}")
        if record.reason:
            print(f"reason: {record.reason}")
        if record.date_finished is None:
            print("not finished yet: no results")
            return 1
        try:
            files = list(read_manifest(state.result_dir(job_id)))
        except (OSError, ValueError):
            files = []
        for file in files:
            print(f"  {file.index:>3}  {file.type:<17} {file.filesize:>12}  {file.filename}")
        if args.output is not None:
            args.output.mkdir(parents=True, exist_ok=True)
            for file in files:
                stored = StoredResult.in_storage(state.settings.results_dir, job_id, file)
                _copy(stored, args.output / file.filename, progress)
            progress.done()
            print(f"copied {len(files)} files to {args.output}")
    finally:
        state.close()
    return 0 if record.date_finished is not None else 1


def _copy(stored: StoredResult, target: Path, progress: Progress) -> None:
    """Copy one result file, opened as a job's file (no links, a plain file)."""
    from provider.errors import NotFound
    from workflows.jobfiles import RefusedJobFile

    try:
        source = stored.source.open()
    except RefusedJobFile as refused:
        raise NotFound(f"result {stored.file.filename} is not shown: {refused}") from None
    with source, target.open("wb") as writer:
        total = source.info.st_size
        done = 0
        while chunk := source.read(done, min(_CHUNK, total - done)):
            writer.write(chunk)
            done += len(chunk)
            progress.bytes(done, total, stored.file.filename)
    os.utime(target, ns=(source.info.st_atime_ns, source.info.st_mtime_ns))
