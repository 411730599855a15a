"""``c2d get JOB``: one job of the consumer's as a tree of its steps, like ``argo get``."""

from __future__ import annotations

import argparse

from provider.commands.consumer.connection import (
    add_connection_arguments,
    open_reader,
    remote_errors,
)
from provider.commands.consumer.output import add_output_argument, render

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "get"
HELP = "show one of your jobs on a provider: its steps with status, start, duration, reason"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="the job id")
    add_connection_arguments(parser)
    add_output_argument(parser)


def run(args: argparse.Namespace) -> int:
    from provider.commands.consumer.steps import format_job

    with open_reader(args) as client, remote_errors(args.provider):
        job = client.status(args.job)
    print(render(job, args.output) or format_job(job))
    return 0
