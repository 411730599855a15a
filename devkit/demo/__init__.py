"""``c2d demo``: a complete compute-to-data job on this machine, through the REST API."""

from devkit.demo.run import run_demo

__all__ = ["run_demo"]
