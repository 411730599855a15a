"""The ``c2d`` command: run the chosen subcommand; known errors become a message and exit 2,
Ctrl-C a one-line note and exit 130 (as a shell reports SIGINT), never a traceback."""

from __future__ import annotations

import argparse
import sys

from provider.commands import add_commands

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="c2d",
        description="Compute-to-Data: a provider (serve, jobs, logs, results) and a consumer's "
        "client of any provider (submit, get, list, stop, logs/results --provider)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    add_commands(parser)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except Exception as error:
        if not _known(error):
            raise
        print(f"c2d: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # What the command started was cleaned up on the way out (its finally blocks).
        print(f"c2d: {args.command} interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    return code


def _known(error: Exception) -> bool:
    """An error the user can act on from its message (imported only when one happens: the
    engine's modules take longer to import than ``c2d --help`` may)."""
    from provider.errors import C2DError, ConfigError

    if isinstance(error, ConfigError | C2DError):
        return True
    from workflows.engines.base import EngineError
    from workflows.sqlite_schema import SchemaVersionError

    return isinstance(error, ConfigError | EngineError | C2DError | SchemaVersionError)


def _version() -> str:
    from importlib.metadata import version

    return version("c2d")


if __name__ == "__main__":
    raise SystemExit(main())
