"""``c2d demo``: a complete compute-to-data job on this machine, through the REST API."""

from __future__ import annotations

import argparse

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "demo"
HELP = "run a complete compute-to-data job on this machine"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", action="store_true", help="keep the demo's C2D_HOME afterwards")


def run(args: argparse.Namespace) -> int:
    from devkit.demo import run_demo

    return run_demo(keep=args.keep)
