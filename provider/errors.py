"""The C2DError hierarchy: every refusal a client can get, with its HTTP status."""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "C2DError",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "RangeNotSatisfiable",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UsageError",
]


class C2DError(Exception):
    """Base of client-visible errors; ``message`` is shown to the client as ``{"error": ...}``."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str] | None:
        """Response headers the refusal carries beside its body."""
        return None


class BadRequest(C2DError):
    status_code = 400


class Unauthorized(C2DError):
    status_code = 401


class Forbidden(C2DError):
    status_code = 403


class NotFound(C2DError):
    status_code = 404


class Conflict(C2DError):
    status_code = 409


class TooManyRequests(C2DError):
    """A limit is spent; with ``retry_after``, the client may retry after that many seconds."""

    status_code = 429

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return None if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class RangeNotSatisfiable(C2DError):
    """A download's ``Range`` lies past the file's end; ``total`` is its length when known."""

    status_code = 416

    def __init__(self, message: str, total: int | None = None) -> None:
        super().__init__(message)
        self.total = total

    def headers(self) -> dict[str, str] | None:
        # RFC 9110 gives an unsatisfied range's answer the complete length, or no header.
        return None if self.total is None else {"Content-Range": f"bytes */{self.total}"}


class ServiceUnavailable(C2DError):
    status_code = 503


class ConfigError(Exception):
    """The operator's configuration is invalid; the message names the setting and never a secret."""


class UsageError(ConfigError):
    """A command's arguments are wrong; the message names the argument and what to give."""
