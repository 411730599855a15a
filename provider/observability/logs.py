"""Log output: one JSON object a line for machines, readable text in a terminal; never secrets.

``C2D_LOG_FORMAT`` chooses: ``json``, ``text``, or ``auto`` (the default): JSON when stderr is
not a terminal (a service manager, a container, a file), text when a person is watching.
Every record is scrubbed of URLs, long hex strings (keys, signatures, tokens) and JWTs, whatever
the code that logged it passed in; only the provider's own listening address (``keep_in_logs``)
is shown, since it is the one a reader looks for and holds no secret.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, Literal

__all__ = [
    "FIELDS",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "keep_in_logs",
    "scrub",
]

LogFormat = Literal["auto", "json", "text"]
# Context fields a record may carry (``extra=``); the engine sets them on every job event.
FIELDS = ("job_id", "owner", "environment", "step")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
# 0x + 64 hex or more: private keys, signatures; an address (40) or job id (32) is kept.
_LONG_HEX = re.compile(r"\b(0x)?[0-9a-fA-F]{64,}\b")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# The provider's own addresses (``http://host:port``), shown as they are.
_KEPT: set[str] = set()


def keep_in_logs(own_url: str) -> None:
    """Show ``own_url`` (the provider's listening address) in logs instead of ``<url>``."""
    _KEPT.add(own_url.rstrip("/"))


def _redact_url(match: re.Match[str]) -> str:
    url = match[0]
    for own in _KEPT:
        rest = url[len(own) :]
        # Its paths too, but not a query string (where a client may put a secret).
        if url.startswith(own) and (rest == "" or rest[0] in "/.,;)]'\"") and "?" not in rest:
            return url
    return "<url>"


def scrub(text: str) -> str:
    """The text with URLs, keys, signatures and tokens replaced by a placeholder."""
    text = _URL.sub(_redact_url, text)
    text = _JWT.sub("<token>", text)
    return _LONG_HEX.sub("<secret>", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": scrub(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value:
                event[name] = scrub(str(value))
        if record.exc_info:
            event["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(event, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in FIELDS if getattr(record, name, None)
        )
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if context:
            line += f"  [{context}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return scrub(line)


def configure_logging(level: str = "info", log_format: LogFormat = "auto") -> str:
    """Route every logger (uvicorn's too) to stderr in the chosen format; returns that format."""
    chosen = log_format
    if chosen == "auto":
        chosen = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    return chosen
