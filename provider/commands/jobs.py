"""``c2d jobs``: the jobs on this machine, newest last, read from ``C2D_HOME``'s job state."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from provider.commands.consumer.output import add_output_argument, render
from workflows.status import status_text

if TYPE_CHECKING:
    from workflows.engines.local.store import JobRecord

__all__ = ["HELP", "NAME", "add_arguments", "format_jobs", "job_fields", "run"]

NAME = "jobs"
HELP = "list the jobs on this machine (status, environment, owner, duration)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="how many of the latest jobs")
    parser.add_argument("--owner", help="only this consumer address's jobs")
    parser.add_argument("--active", action="store_true", help="only unfinished jobs")
    add_output_argument(parser)


def run(args: argparse.Namespace) -> int:
    from provider.commands._local import LocalState

    state = LocalState()
    try:
        if args.active:
            records = state.store.unfinished()[-args.limit :]
        elif args.owner:
            records = state.store.for_owner(args.owner)[-args.limit :]
        else:
            records = state.store.recent(args.limit)
    finally:
        state.close()
    if args.owner:
        records = [r for r in records if r.spec.owner.lower() == args.owner.lower()]
    listing = render([job_fields(r) for r in records], args.output)
    print(listing or format_jobs(records, now=time.time(), wide=args.output == "wide"))
    return 0


def job_fields(record: JobRecord) -> dict[str, Any]:
    """A job for ``-o json|yaml``, with the names of the REST API's job JSON."""
    spec = record.spec
    return {
        "jobId": spec.job_id,
        "owner": spec.owner,
        "environment": spec.environment,
        "status": int(record.status),
        "statusText": status_text(record.status),
        "statusReason": record.reason,
        "dateCreated": spec.created_at,
        "dateFinished": record.date_finished,
    }


def format_jobs(records: list[JobRecord], *, now: float, wide: bool = False) -> str:
    """A fixed-width table, one job a line (full job ids: they are what the other commands take);
    ``wide``: the owner's whole address and the whole reason."""
    header = ("JOB", "STATUS", "ENVIRONMENT", "OWNER", "CREATED", "TIME", "REASON")
    rows = [header]
    for record in records:
        spec = record.spec
        end = record.date_finished or now
        rows.append(
            (
                spec.job_id,
                f"{int(record.status)} {record.status.name.lower()}",
                spec.environment,
                spec.owner if wide else spec.owner[:10] + "…",
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(spec.created_at)),
                f"{max(0, end - spec.created_at):.0f}s",
                record.reason if wide else record.reason[:60],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    if len(rows) == 1:
        lines.append("(no jobs)")
    return "\n".join(line.rstrip() for line in lines)
