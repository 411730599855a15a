"""The ``c2d`` subcommands: one module each, listed here in the order ``c2d --help`` shows them.

A subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``
(the exit code). Adding a command is one module and one entry in ``COMMANDS``.

The development commands (demo, chain, publish) live in devkit and are named here by module path,
imported when the parser is built: this table is the one place provider refers to devkit
(docs/design.md#layering, tests/test_layering.py). Where devkit is not installed (the image),
they are not offered.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

from provider.commands import chains, jobs, logs, render, results, serve

__all__ = ["COMMANDS", "add_commands"]

COMMANDS: tuple[ModuleType | str, ...] = (
    serve,
    "devkit.commands.demo",
    "devkit.commands.chain",
    chains,
    "devkit.commands.publish",
    render,
    jobs,
    logs,
    results,
    # A consumer's commands: imported when the parser is built (eth_account and httpx only when
    # they run); offered in the image too, their client being provider/commands/consumer/client.py.
    "provider.commands.consumer.submit",
    "provider.commands.consumer.get_job",
    "provider.commands.consumer.list_jobs",
    "provider.commands.consumer.stop_job",
)


def _loaded(command: ModuleType | str) -> ModuleType | None:
    if isinstance(command, ModuleType):
        return command
    try:
        return importlib.import_module(command)
    except ModuleNotFoundError as error:
        if error.name not in ("devkit", "devkit.commands", command):
            raise
        return None


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
    for entry in COMMANDS:
        command = _loaded(entry)
        if command is None:
            continue
        sub = subparsers.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            formatter_class=_DefaultsShown,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
