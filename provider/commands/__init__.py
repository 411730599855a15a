"""The ``c2d`` subcommands: one module each, listed here in the order ``c2d --help`` shows them.

A subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``
(the exit code). Adding a command is one module and one entry in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from provider.commands import chain, chains, demo, jobs, logs, publish, render, results, serve

__all__ = ["COMMANDS", "add_commands"]

COMMANDS: tuple[ModuleType, ...] = (
    serve,
    demo,
    chain,
    chains,
    publish,
    render,
    jobs,
    logs,
    results,
)


def add_commands(parser: argparse.ArgumentParser) -> None:
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(command.NAME, help=command.HELP)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
