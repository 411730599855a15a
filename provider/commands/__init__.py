"""The ``c2d`` subcommands: one module each, listed here in the order ``c2d --help`` shows them.

A subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``
(the exit code). Adding a command is one module and one entry in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from provider.commands import chain, demo, jobs, logs, publish, render, results, serve
from provider.commands.consumer import get_job, list_jobs, stop_job, submit

__all__ = ["COMMANDS", "add_commands"]

COMMANDS: tuple[ModuleType, ...] = (
    serve,
    demo,
    chain,
    publish,
    render,
    jobs,
    logs,
    results,
    submit,
    get_job,
    list_jobs,
    stop_job,
)


class _DefaultsShown(argparse.HelpFormatter):
    """Every option's help ends with its default, where it has one that says something."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text + " (default: %(default)s)"
        return text


def add_commands(parser: argparse.ArgumentParser) -> None:
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            formatter_class=_DefaultsShown,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
