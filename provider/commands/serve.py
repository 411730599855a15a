"""``c2d serve``: run the provider (configured by ``C2D_*`` variables and ``C2D_CONFIG``)."""

from __future__ import annotations

import argparse

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "serve"
HELP = "run the provider (configured by C2D_* variables)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from provider.api.sendfile import SendfileHttpProtocol
    from provider.app import create_app
    from provider.observability.logs import configure_logging
    from provider.settings import load_settings

    settings = load_settings()
    configure_logging(args.log_level, settings.log_format)
    app = create_app(settings)
    # log_config=None: uvicorn's own lines go through the same (JSON or text) handler.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        log_config=None,
        # The asyncio loop: its transports implement sendfile, which results are sent by.
        loop="asyncio",
        http=SendfileHttpProtocol,
    )
    return 0
