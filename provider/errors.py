"""The C2DError hierarchy: every refusal a client can get, with its HTTP status."""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "C2DError",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
]


class C2DError(Exception):
    """Base of client-visible errors; ``message`` is shown to the client as ``{"error": ...}``."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


class PayloadTooLarge(C2DError):
    status_code = 413


class TooManyRequests(C2DError):
    """A rate limit is spent; the client may retry after ``retry_after`` whole seconds."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(C2DError):
    status_code = 503


class ConfigError(Exception):
    """The operator's configuration is invalid; the message names the setting and never a secret."""
