"""The c2d Provider: Ocean Node compatible REST API in front of the compute engines."""

__version__ = "0.1.0"
