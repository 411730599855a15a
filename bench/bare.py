"""The baseline server: bare endpoints shaped like the ones measured, no work behind them.

Run as ``python -m bench.bare PORT``. It is served as ``c2d serve`` serves (its listening
socket, the asyncio loop, no access log, c2d's HTTP protocol), so that a baseline is the floor
of the same HTTP stack. The status poll is answered before FastAPI's routing, as c2d answers
its plain polls (``provider/api/status_poll.py``): a FastAPI route there came out slower than
c2d's whole poll once c2d's skipped the routing and the helper.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI

from provider.api.http_protocol import ProviderHttpProtocol
from provider.listen import listen

__all__ = ["app"]

routes = FastAPI()


@routes.post("/api/services/freeCompute")
def start(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"owner": body.get("consumerAddress"), "jobId": "0" * 32, "status": 0}]


@routes.get("/")
def root() -> dict[str, str]:
    return {"software": "bare"}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The poll answered at once with a job's public fields; everything else by ``routes``."""
    if scope["type"] != "http" or scope["path"] != "/api/services/compute":
        await routes(scope, receive, send)
        return
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    job = {"owner": query.get("consumerAddress"), "jobId": query.get("jobId")}
    body = json.dumps([{**job, "status": 70, "statusText": "Job finished"}]).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    # Nagle's algorithm off on the listening socket (provider/listen.py): uvicorn's own left a
    # response waiting on the client's delayed ACK.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, loop="asyncio", http=ProviderHttpProtocol
    )
    uvicorn.Server(config).run(sockets=[listen("127.0.0.1", int(sys.argv[1]))])
