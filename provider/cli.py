"""The ``c2d`` command: run the chosen subcommand; known errors become a message and exit 2,
Ctrl-C a one-line note and exit 130 (as a shell reports SIGINT), never a traceback."""

from __future__ import annotations

import argparse
import sys

from provider.commands import add_commands
from provider.errors import C2DError, ConfigError
from workflows.engines.base import EngineError
from workflows.sqlite_schema import SchemaVersionError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="c2d", description="Compute-to-Data provider")
    add_commands(parser)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (ConfigError, EngineError, C2DError, SchemaVersionError) as error:
        print(f"c2d: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # What the command started was cleaned up on the way out (its finally blocks).
        print(f"c2d: {args.command} interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
