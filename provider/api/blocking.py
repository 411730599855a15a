"""Blocking calls made from async routes, on a thread pool of the API's own.

FastAPI runs a plain ``def`` route in anyio's worker threads; for a call of a millisecond the
hand-off (capacity limiter, cancel scope, run-time lookups) cost about as much as the call. The
status route, which clients poll, awaits its blocking calls here instead: a bare
``run_in_executor`` on a pool as large as anyio's.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["in_thread"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_POOL = ThreadPoolExecutor(max_workers=40, thread_name_prefix="api-call")


async def in_thread(call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``call(*args, **kwargs)`` in a worker thread; its exception is raised here."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, functools.partial(call, *args, **kwargs))
