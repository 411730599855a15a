"""``c2d serve``: run the provider (configured by ``C2D_*`` variables and ``C2D_CONFIG``)."""

from __future__ import annotations

import argparse
import logging

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "serve"
HELP = "run the provider (configured by C2D_* variables)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from provider.app import create_app
    from provider.settings import load_settings

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = create_app(load_settings())
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0
