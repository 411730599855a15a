"""The error every image step raises: its message is the job's reason (status 11)."""

from __future__ import annotations

__all__ = ["PullError"]


class PullError(Exception):
    """The image could not be pulled; the message is the job's reason."""
