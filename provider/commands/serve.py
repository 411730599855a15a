"""``c2d serve``: run the provider (configured by ``C2D_*`` variables and ``C2D_CONFIG``).

Start-up order matters: the home's lock first (a second provider must not touch the first's
jobs), then the port (a clash must fail before any state is read or "ready" is said), then
the services, then the log line naming everything a newcomer looks for.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from provider.api.deps import Services
    from provider.settings import Settings

__all__ = ["HELP", "NAME", "add_arguments", "describe_start", "run"]

NAME = "serve"
HELP = "run the provider (configured by C2D_* variables)"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (%(default)s)")
    parser.add_argument(
        "--log-level", default="info", choices=LOG_LEVELS, help="least severe level logged"
    )


def run(args: argparse.Namespace) -> int:
    from provider.app import create_app
    from provider.home_lock import lock_home
    from provider.listen import listen, listening_url
    from provider.observability.logs import configure_logging, keep_in_logs
    from provider.settings import load_settings

    settings = load_settings()
    configure_logging(args.log_level, settings.log_format)
    address = listening_url(args.host, args.port)
    lock = lock_home(settings.home, address)
    sock = listen(args.host, args.port)
    keep_in_logs(address)
    helper = None
    # uvicorn raises a stop signal again once the HTTP side has shut down, with the handler it
    # found. SIGTERM's default action ended the process right there, before the ``finally``
    # below: ``c2d serve`` exited while its helper was still shutting the engine down (a
    # provider started at once on the same home raced it). These handlers let the end run.
    signal.signal(signal.SIGTERM, stop_signalled)
    signal.signal(signal.SIGINT, stop_signalled)
    stopped = False
    try:
        if splits(settings):
            from provider.privsep.start import split_services

            services, helper = split_services(settings, (sock.fileno(), lock.fileno()))
            app = create_app(services.settings, services)
        else:
            app = create_app(settings)
        logging.getLogger("c2d").info("%s", describe_start(app.state.services, address))
        _serve(app, args, sock)
    except _Stopped:
        stopped = True
    finally:
        # A stop signal from now on (a double stop) must not cut this short: the helper is
        # waited for.
        _ignore_stop_signals()
        sock.close()
        if helper is not None:
            helper.stop()
            logging.getLogger("c2d").info("the sandbox helper has stopped")
        lock.release()
    if stopped:
        # Ended by the signal, as before: a service manager that sent it counts that as a
        # clean stop (exit status 143 it would count as a failure).
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
    return 0


class _Stopped(BaseException):
    """SIGTERM, once uvicorn has stopped serving (or while the provider starts). Not an
    ``Exception``: a broad ``except Exception`` on the way must not swallow the stop (the
    signals are ignored from then on, so a swallowed stop would leave a provider no SIGTERM
    ends)."""


def stop_signalled(signum: int, frame: object) -> None:
    """SIGTERM raises ``_Stopped``, SIGINT ``KeyboardInterrupt`` (a Ctrl-C, as ever). Only the
    first: a Ctrl-C reaches every process of the terminal's group, the demo's provider and the
    demo, which then stops its provider with SIGTERM. That second signal, raised inside the
    first one's clean-up, broke off the wait for the helper."""
    _ignore_stop_signals()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise _Stopped


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def splits(settings: Settings) -> bool:
    """As root with the local engine the API drops to its own user (docs/security.md)."""
    return os.geteuid() == 0 and settings.engine == "local"


def _serve(app: FastAPI, args: argparse.Namespace, sock: socket.socket) -> None:
    import uvicorn

    from provider.api.http_protocol import ProviderHttpProtocol

    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        access_log=False,
        # None: uvicorn's own lines go through the same (JSON or text) handler.
        log_config=None,
        # The asyncio loop: its transports implement sendfile, which results are sent by.
        loop="asyncio",
        http=ProviderHttpProtocol,
    )
    # What start-up built (modules, the app, its schemas) lives as long as the process. Frozen
    # out of the collector's reach, it is not walked again by every full collection: those
    # walks were 8 % of this process's CPU through a burst of jobs.
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run(sockets=[sock])


def describe_start(services: Services, address: str) -> str:
    """One line: where the provider listens and which home, config, environments, engine and
    chain it serves, and its address on chain."""
    settings = services.settings
    config_file = str(settings.config.resolve()) if settings.config else "none (built-in default)"
    environments = ", ".join(
        f"{env.id} ({', '.join(image for rt in env.runtimes for image in rt.images)})"
        for env in services.config.environments
    )
    chains = sorted({int(chain) for env in services.config.environments for chain in env.fees})
    chain = ", ".join(str(chain_id) for chain_id in chains) if chains else "none (free jobs only)"
    return (
        f"listening on {address}; C2D_HOME {settings.home.resolve()}; config {config_file};"
        f" environments {environments}; engine {settings.engine}; chain {chain};"
        f" provider address {services.account.address}"
    )
