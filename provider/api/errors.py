"""One place that turns exceptions into JSON error responses (never a stack trace)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from provider.errors import C2DError, TooManyRequests

__all__ = ["install_error_handlers"]

_log = logging.getLogger("c2d.api")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(C2DError)
    async def _c2d_error(_: Request, error: C2DError) -> JSONResponse:
        headers = None
        if isinstance(error, TooManyRequests):
            headers = {"Retry-After": str(error.retry_after)}
        body = {"error": error.message}
        return JSONResponse(body, status_code=error.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"] if part != "body")
            problems.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
        return JSONResponse({"error": "; ".join(problems)[:2000]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Logged with the route only: bodies can hold signatures and URLs with secrets.
        _log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal error"}, status_code=500)
