"""The baseline server: bare FastAPI endpoints shaped like the ones measured, no work behind them.

Run as ``python -m bench.bare PORT``.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

__all__ = ["app"]

app = FastAPI()


@app.get("/api/services/compute")
def status(consumerAddress: str, jobId: str) -> list[dict[str, Any]]:  # noqa: N803
    return [{"owner": consumerAddress, "jobId": jobId, "status": 70, "statusText": "Job finished"}]


@app.post("/api/services/freeCompute")
def start(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"owner": body.get("consumerAddress"), "jobId": "0" * 32, "status": 0}]


@app.get("/")
def root() -> dict[str, str]:
    return {"software": "bare"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
