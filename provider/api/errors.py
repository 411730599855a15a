"""One place that turns exceptions into JSON error responses (never a stack trace)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from provider.api.validation import OUT_OF_RANGE
from provider.errors import C2DError, TooManyRequests
from provider.ui.pages import SECURITY_HEADERS, error_page

__all__ = ["install_error_handlers"]

_log = logging.getLogger("c2d.api")

# A value of the right type outside its accepted range is a 400 (fix the value); anything else
# the schema refuses (not JSON, a missing field, a wrong type or format) stays a 422.
_RANGE_PROBLEMS = frozenset(
    {
        OUT_OF_RANGE,
        "finite_number",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "string_too_long",
        "string_too_short",
        "too_long",
        "too_short",
    }
)


def _utf8(text: str) -> str:
    """Messages may quote client input: never let it make the answer unencodable."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _operator_page(request: Request) -> bool:
    path = request.url.path
    return path == "/ui" or path.startswith("/ui/")


def _page(status: int, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    """The operator's page answers a browser: its refusals are pages too."""
    return HTMLResponse(
        error_page(status, _utf8(message)),
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(C2DError)
    async def _c2d_error(request: Request, error: C2DError) -> JSONResponse | HTMLResponse:
        headers = None
        if isinstance(error, TooManyRequests) and error.retry_after is not None:
            headers = {"Retry-After": str(error.retry_after)}
        if _operator_page(request):
            return _page(error.status_code, error.message, headers)
        body = {"error": _utf8(error.message)}
        return JSONResponse(body, status_code=error.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"] if part != "body")
            problems.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
        in_range = all(problem["type"] in _RANGE_PROBLEMS for problem in error.errors())
        message = _utf8("; ".join(problems)[:2000])
        return JSONResponse({"error": message}, status_code=422 if not in_range else 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse | HTMLResponse:
        if _operator_page(request):
            return _page(error.status_code, str(error.detail), dict(error.headers or {}))
        return JSONResponse(
            {"error": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Logged with the route only: bodies can hold signatures and URLs with secrets.
        _log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal error"}, status_code=500)
