"""A web3 provider over several RPC URLs: the next one is used when one times out or errors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import requests
from web3 import HTTPProvider
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

__all__ = ["FailoverProvider", "RpcUnavailable"]

_log = logging.getLogger("c2d.chain")


# JSON-RPC "limit exceeded" (EIP-1474): the node is rate limiting, not answering the request.
_LIMIT_EXCEEDED = -32005


class RpcUnavailable(OSError):
    """No RPC URL of a chain answered; the message names the chain and each URL's error."""


class FailoverProvider(JSONBaseProvider):
    """Sends each request to the URL that last answered; on a transport error (refused,
    timed out, HTTP 429 or 5xx) or a rate limit (-32005) tries the others in their configured
    order. Other JSON-RPC errors (a revert) are answers and are returned as such."""

    def __init__(self, urls: Sequence[str], *, chain_id: int, timeout: float) -> None:
        super().__init__()
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self.urls = tuple(urls)
        self._chain_id = chain_id
        # No retries inside one URL: the next URL is the retry.
        self._providers = [
            HTTPProvider(
                url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
            )
            for url in urls
        ]
        self._current = 0
        self._lock = threading.Lock()

    @property
    def current_url(self) -> str:
        return self.urls[self._current]

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            first = self._current
        errors: list[str] = []
        for step in range(len(self._providers)):
            index = (first + step) % len(self._providers)
            try:
                response = self._providers[index].make_request(method, params)
            except (requests.RequestException, OSError) as error:
                errors.append(f"{self.urls[index]}: {type(error).__name__}")
                continue
            if _overloaded(response):
                errors.append(f"{self.urls[index]}: limit exceeded")
                continue
            if index != first:
                with self._lock:
                    self._current = index
                _log.warning(
                    "chain %s: %s did not answer, now using %s",
                    self._chain_id,
                    self.urls[first],
                    self.urls[index],
                )
            return response
        raise RpcUnavailable(f"chain {self._chain_id}: no RPC answers ({'; '.join(errors)})")

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            self.make_request(RPCEndpoint("web3_clientVersion"), [])
        except RpcUnavailable:
            return False
        return True


def _overloaded(response: RPCResponse) -> bool:
    error = response.get("error") if isinstance(response, dict) else None
    return isinstance(error, dict) and error.get("code") == _LIMIT_EXCEEDED
