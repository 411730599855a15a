"""The unsigned reads — the jobs of an address, one job's public view — over the standard
library's HTTP client: ``c2d list`` and ``c2d get`` must start and answer in under 0.3 s of CPU,
and importing httpx alone takes most of that."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

from provider.commands.consumer.client import ProviderError

__all__ = ["StatusReader"]

_MAX_ANSWER = 64 * 2**20


class StatusReader:
    def __init__(self, base_url: str, address: str, *, timeout: float = 30.0) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ProviderError(0, f"{base_url} is not an http(s) URL")
        connection = (
            http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        )
        self._connection = connection(url.hostname, url.port, timeout=timeout)
        self._prefix = url.path.rstrip("/")
        self.address = address

    def status_list(self) -> list[dict[str, Any]]:
        return list(self._get({"consumerAddress": self.address}))

    def status(self, job_id: str) -> dict[str, Any]:
        jobs = self._get({"consumerAddress": self.address, "jobId": job_id})
        if not jobs:
            # As with C2DClient: 200 [] for a job unknown or not this address's to see.
            raise ProviderError(200, f"no job {job_id} for {self.address}")
        return dict(jobs[0])

    def close(self) -> None:
        self._connection.close()

    def _get(self, params: dict[str, str]) -> Any:
        query = urllib.parse.urlencode(params)
        self._connection.request("GET", f"{self._prefix}/api/services/compute?{query}")
        response = self._connection.getresponse()
        body = response.read(_MAX_ANSWER)
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if response.status >= 400:
            text = body.decode("utf-8", "replace")
            message = answer.get("error", text) if isinstance(answer, dict) else text
            raise ProviderError(response.status, str(message))
        if not isinstance(answer, list):
            raise ProviderError(response.status, "the answer is not a list of jobs")
        return answer
