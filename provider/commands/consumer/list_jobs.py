"""``c2d list``: the consumer's jobs on a provider (unsigned: the public view of each)."""

from __future__ import annotations

import argparse
import time

from provider.commands.consumer.connection import (
    add_connection_arguments,
    open_reader,
    remote_errors,
)
from provider.commands.consumer.output import add_output_argument, format_jobs, render

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "list"
HELP = "list your jobs on a provider (consumer; -o wide|json|yaml)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    add_output_argument(parser)


def run(args: argparse.Namespace) -> int:
    with open_reader(args) as client, remote_errors(args.provider):
        jobs = client.status_list()
    print(
        render(jobs, args.output) or format_jobs(jobs, wide=args.output == "wide", now=time.time())
    )
    return 0
