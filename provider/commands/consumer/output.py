"""How the consumer commands print jobs: a table (``wide``: more columns), JSON or YAML."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

__all__ = [
    "FORMATS",
    "add_output_argument",
    "clock",
    "epoch",
    "format_jobs",
    "render",
    "seconds",
    "table",
]

FORMATS = ("table", "wide", "json", "yaml")


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=FORMATS, default="table", help="output format")


def render(data: Any, output: str) -> str | None:
    """JSON or YAML of the provider's own answer; ``None`` for the tables, which each command
    draws itself."""
    if output == "json":
        return json.dumps(data, indent=2)
    if output == "yaml":
        import yaml

        return str(yaml.safe_dump(data, sort_keys=False)).rstrip("\n")
    return None


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


def epoch(value: object) -> float | None:
    """A provider's epoch-seconds field (a string or a number; empty or 0: not yet)."""
    if value in (None, "", "0", 0):
        return None
    return float(str(value))


def clock(value: object) -> str:
    """An epoch-seconds field as local time; ``-`` when the job has not got there."""
    stamp = epoch(value)
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def seconds(start: object, end: object, now: float) -> str:
    begun = epoch(start)
    if begun is None:
        return "-"
    return f"{max(0.0, (epoch(end) or now) - begun):.0f}s"


def format_jobs(jobs: Sequence[dict[str, Any]], *, wide: bool, now: float) -> str:
    """One job a line, oldest first (full ids: the other commands take them)."""
    header = ["JOB", "STATUS", "ENVIRONMENT", "CREATED", "DURATION"]
    if wide:
        header += ["RESULTS", "REASON"]
    rows = [header]
    for job in sorted(jobs, key=lambda j: float(j.get("dateCreated") or 0)):
        row = [
            str(job["jobId"]),
            f"{job['status']} {str(job['statusText']).strip()}",
            str(job.get("environment", "")),
            clock(job.get("dateCreated")),
            seconds(job.get("dateCreated"), job.get("dateFinished"), now),
        ]
        if wide:
            row += [str(len(job.get("results") or [])), str(job.get("statusReason") or "")]
        rows.append(row)
    text = table(rows)
    return text if len(rows) > 1 else text + "\n(no jobs)"
