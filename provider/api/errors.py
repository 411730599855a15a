"""One place that turns exceptions into JSON error responses (never a stack trace)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from provider.api.validation import OUT_OF_RANGE
from provider.errors import C2DError

__all__ = ["ErrorPage", "install_error_handlers"]

# A refusal as a page, for the routes under a path that answer a browser (status, message,
# extra headers): the operator's page.
ErrorPage = Callable[[int, str, Mapping[str, str]], Response]

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


def _page_for(request: Request, pages: Mapping[str, ErrorPage]) -> ErrorPage | None:
    path = request.url.path
    for prefix, page in pages.items():
        if path == prefix or path.startswith(prefix + "/"):
            return page
    return None


def install_error_handlers(app: FastAPI, pages: Mapping[str, ErrorPage] | None = None) -> None:
    """``pages``: path prefix → how its refusals are rendered; JSON everywhere else."""
    pages = dict(pages or {})

    @app.exception_handler(C2DError)
    async def _c2d_error(request: Request, error: C2DError) -> Response:
        headers = error.headers()
        page = _page_for(request, pages)
        if page is not None:
            return page(error.status_code, _utf8(error.message), headers or {})
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
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        page = _page_for(request, pages)
        if page is not None:
            return page(error.status_code, _utf8(str(error.detail)), dict(error.headers or {}))
        return JSONResponse(
            {"error": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Logged with the route only: bodies can hold signatures and URLs with secrets.
        _log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal error"}, status_code=500)
