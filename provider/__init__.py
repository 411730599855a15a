"""The c2d Provider: Ocean Node compatible REST API in front of the compute engines."""

from importlib.metadata import version

# pyproject.toml holds the number; the steps image is tagged with it (workflows/contract.py).
__version__ = version("c2d")
