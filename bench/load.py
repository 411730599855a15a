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
from urllib.parse import urlencode, urlsplit

import httpx

__all__ = ["main"]


async def _rate(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop over raw keep-alive sockets: request ``i`` is due at ``begin + i / rate`` and
    its latency counts from that due time, so a slow answer shows as latency, never as a lower
    rate. httpx's client costs more CPU per request than a bare endpoint does to answer, which
    made the generator (not the server) the bottleneck and the baseline slower than c2d."""
    rate, duration = float(spec["rate"]), float(spec["duration"])
    connections = int(spec.get("connections", 32))
    request = _get_request(spec)
    host, port = _host_port(spec["url"])
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    errors = 0

    async def one(due: float) -> None:
        nonlocal errors
        reader, writer = await pool.get()
        try:
            writer.write(request)
            if not await _read_response(reader):
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
        pool.put_nowait((reader, writer))
        latencies.append(time.perf_counter() - due)

    for _ in range(20):  # warm the server's caches
        await one(time.perf_counter())
    latencies.clear()
    tasks = []
    begin = time.perf_counter()
    for i in range(int(rate * duration)):
        due = begin + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - begin
    while not pool.empty():
        pool.get_nowait()[1].close()
    return {"latencies": latencies, "errors": errors, "per_s": len(latencies) / elapsed}


def _host_port(url: str) -> tuple[str, int]:
    split = urlsplit(url)
    return split.hostname or "127.0.0.1", split.port or 80


def _get_request(spec: dict[str, Any]) -> bytes:
    query = urlencode(spec.get("params") or {})
    target = spec["path"] + (f"?{query}" if query else "")
    host = urlsplit(spec["url"]).netloc
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode()


async def _read_response(reader: asyncio.StreamReader) -> bool:
    """Reads one response (Content-Length framed); True when its status is below 400."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status < 400


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
