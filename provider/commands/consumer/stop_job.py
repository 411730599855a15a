"""``c2d stop JOB``: stop one of the consumer's jobs on a provider (a signed request)."""

from __future__ import annotations

import argparse

from provider.commands.consumer.connection import (
    add_connection_arguments,
    open_client,
    remote_errors,
)

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "stop"
HELP = "stop one of your jobs on a provider"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="the job id")
    add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    with open_client(args) as client, remote_errors(args.provider):
        job = client.stop(args.job)
    print(f"job {job['jobId']}: {job['status']} {str(job['statusText']).strip()}")
    return 0
