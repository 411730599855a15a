"""The ``c2d`` command: ``serve`` the provider, run the ``demo``."""

from __future__ import annotations

import argparse
import logging
import sys

from provider.errors import ConfigError
from workflows.engines.base import EngineError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="c2d", description="Compute-to-Data provider")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the provider (configured by C2D_* variables)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    demo = commands.add_parser("demo", help="run a complete compute-to-data job on this machine")
    demo.add_argument("--keep", action="store_true", help="keep the demo's C2D_HOME afterwards")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.host, args.port, args.log_level)
        from provider.demo import run_demo

        return run_demo(keep=args.keep)
    except (ConfigError, EngineError) as error:
        print(f"c2d: {error}", file=sys.stderr)
        return 2


def _serve(host: str, port: int, log_level: str) -> int:
    import uvicorn

    from provider.app import create_app
    from provider.settings import load_settings

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = create_app(load_settings())
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
