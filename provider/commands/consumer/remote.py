"""``c2d logs --provider`` and ``c2d results --provider``: a job's log and results over the REST
API, and the wait with the DAG's progress that ``submit --wait`` shares."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from provider.commands.consumer.connection import open_client, remote_errors
from provider.errors import UsageError
from workflows.status import TERMINAL_STATUSES, JobStatus

if TYPE_CHECKING:
    from provider.commands.consumer.client import C2DClient

__all__ = ["download_results", "run_logs", "run_results", "wait_for_job"]

# A client polls the job's status; the provider itself never does.
_POLL_SECONDS = 0.5


def finished(job: dict[str, Any]) -> bool:
    return JobStatus(int(job["status"])) in TERMINAL_STATUSES


def run_logs(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    with open_client(args, timeout=60.0) as client, remote_errors(args.provider):
        job = client.status(args.job)
        if not args.follow and not finished(job):
            # The provider streams a running job's log until the algorithm ends: that is -f.
            raise UsageError(
                f"job {args.job} has not finished ({job['status']} "
                f"{str(job['statusText']).strip()}); add -f to follow its log"
            )
        for chunk in client.logs(args.job):
            out.write(chunk)
            out.flush()
    return 0


def run_results(args: argparse.Namespace) -> int:
    with open_client(args, timeout=300.0) as client, remote_errors(args.provider):
        job = client.status(args.job)
        if not args.no_wait:
            job = wait_for_job(client, args.job)
        print(f"job {job['jobId']}: {job['status']} {str(job['statusText']).strip()}")
        if job.get("statusReason"):
            print(f"reason: {job['statusReason']}")
        if not finished(job):
            print("not finished yet: no results")
            return 1
        for result in job.get("results") or []:
            print(
                f"  {result['index']:>3}  {result['type']:<17} {result['filesize']:>12}  "
                f"{result['filename']}"
            )
        if args.output is not None:
            download_results(client, job, args.output)
    return 0 if int(job["status"]) == 70 else 1


def wait_for_job(client: C2DClient, job_id: str, out: TextIO = sys.stderr) -> dict[str, Any]:
    """Poll until the job ends, showing its steps as they move: redrawn in place on a terminal,
    a line per change otherwise."""
    from provider.commands.consumer.steps import format_job, job_steps

    tty = out.isatty()
    shown = ""
    lines = 0
    while True:
        job = client.status(job_id)
        if tty:
            text = format_job(job)
            out.write(f"\033[{lines}F\033[J" if lines else "")
            out.write(text + "\n")
            lines = text.count("\n") + 1
        else:
            phases = ", ".join(f"{s.name} {s.phase.lower()}" for s in job_steps(job))
            text = f"{job['status']} {str(job['statusText']).strip()}: {phases}"
            if text != shown:
                out.write(text + "\n")
                shown = text
        out.flush()
        if finished(job):
            return job
        time.sleep(_POLL_SECONDS)


def wait_for_asset(client: C2DClient, job_id: str) -> dict[str, Any]:
    """The job's ``publishedAsset`` once published or skipped, or at its first failed try (the
    provider tries again later; its note says why)."""
    client.login()  # the block is in the full view only
    while True:
        asset: dict[str, Any] = client.status(job_id).get("publishedAsset") or {}
        if asset.get("state") != "waiting" or asset.get("note"):
            return asset
        time.sleep(_POLL_SECONDS)


def download_results(client: C2DClient, job: dict[str, Any], folder: Path) -> list[Path]:
    """Every result file of the job into ``folder``, under its own name (names from the provider
    are taken as a base name only: a name with a path in it never leaves the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for result in job.get("results") or []:
        if "filename" not in result:
            continue  # not a file: the asset the outputs were published as
        name = Path(str(result["filename"])).name
        if name in ("", ".", ".."):
            continue
        target = folder / name
        target.write_bytes(client.result(str(job["jobId"]), int(result["index"])))
        written.append(target)
        print(f"downloaded {target} ({target.stat().st_size} bytes)")
    return written
