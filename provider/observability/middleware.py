"""ASGI middleware timing every request by its route template (bounded label values)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provider.observability.metrics import Metrics

__all__ = ["RequestMetrics"]


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            # Unmatched paths share one label: a scanner must not grow the metric without end.
            template = str(getattr(route, "path", "")) or "unmatched"
            self._metrics.request_done(
                scope["method"], template, status, time.perf_counter() - started
            )
