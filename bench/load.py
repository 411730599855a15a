"""A load generator run as its own process: ``python -m bench.load SPEC.json`` → JSON on stdout.

``rate`` mode sends GETs at a fixed rate (open loop: a slow answer does not slow the sender);
``post`` mode sends the given bodies as fast as ``concurrency`` connections allow.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx

__all__ = ["main"]


async def _rate(spec: dict[str, Any]) -> dict[str, Any]:
    rate, duration = float(spec["rate"]), float(spec["duration"])
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=spec["url"], limits=limits, timeout=10) as client:

        async def one() -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                response = await client.get(spec["path"], params=spec.get("params"))
                if response.status_code >= 400:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - started)

        for _ in range(20):  # warm the connections
            await one()
        latencies.clear()
        tasks = []
        begin = time.perf_counter()
        total = int(rate * duration)
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    return {"latencies": latencies, "errors": errors, "per_s": len(latencies) / elapsed}


async def _post(spec: dict[str, Any]) -> dict[str, Any]:
    bodies: list[Any] = spec["bodies"]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    async with httpx.AsyncClient(base_url=spec["url"], timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(spec["path"], json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    errors += 1

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
        elapsed = time.perf_counter() - begin
    return {"latencies": latencies, "errors": errors, "per_s": len(bodies) / elapsed}


def main() -> int:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    runner = _rate if spec["mode"] == "rate" else _post
    print(json.dumps(asyncio.run(runner(spec))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
