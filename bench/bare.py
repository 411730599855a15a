"""The baseline server: bare FastAPI endpoints shaped like the ones measured, no work behind them.

Run as ``python -m bench.bare PORT``.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

from provider.listen import listen

__all__ = ["app"]

app = FastAPI()


# Async as c2d's status route is (a ``def`` route pays anyio's thread hand-off, which c2d's
# does not: that baseline came out slower than the measured route).
@app.get("/api/services/compute")
async def status(consumerAddress: str, jobId: str) -> list[dict[str, Any]]:  # noqa: N803
    return [{"owner": consumerAddress, "jobId": jobId, "status": 70, "statusText": "Job finished"}]


@app.post("/api/services/freeCompute")
def start(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"owner": body.get("consumerAddress"), "jobId": "0" * 32, "status": 0}]


@app.get("/")
def root() -> dict[str, str]:
    return {"software": "bare"}


if __name__ == "__main__":
    # Served as ``c2d serve`` serves: its listening socket (Nagle's algorithm off, see
    # provider/listen.py; uvicorn's own left a response waiting on the client's delayed ACK),
    # the asyncio loop, no access log.
    config = uvicorn.Config(app, log_level="warning", access_log=False, loop="asyncio")
    uvicorn.Server(config).run(sockets=[listen("127.0.0.1", int(sys.argv[1]))])
